// Package qdrantstore is the vector store over Qdrant's gRPC API
// (qdrant/go-client). Every call is bounded by a timeout; the client's
// version check, which can block for a minute, is skipped and readiness is
// probed with Ping instead.
package qdrantstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Options configure the connection.
type Options struct {
	URL     string // host:port, or http(s)://, grpc(s):// URL; default port 6334
	APIKey  string
	TLS     bool   // force TLS; https:// and grpcs:// imply it
	CAFile  string // PEM CAs to trust; empty uses the system roots
	Timeout time.Duration
}

// Store is a store.Store backed by Qdrant.
type Store struct {
	c       *qdrant.Client
	url     string
	timeout time.Duration
}

// Config maps Options onto the client's configuration.
func Config(o Options) (*qdrant.Config, error) {
	raw := o.URL
	if !strings.Contains(raw, "://") {
		raw = "grpc://" + raw // host:port without a scheme
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("parse QDRANT_URL %q: want host:port or a URL", config.RedactURL(o.URL))
	}
	port := 6334
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("QDRANT_URL port %q: %w", p, err)
		}
	}
	cfg := &qdrant.Config{
		Host:                   u.Hostname(),
		Port:                   port,
		APIKey:                 o.APIKey,
		UseTLS:                 o.TLS || u.Scheme == "https" || u.Scheme == "grpcs",
		SkipCompatibilityCheck: true,
		PoolSize:               1,
	}
	if cfg.UseTLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read QDRANT_CA_FILE: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("QDRANT_CA_FILE %s holds no PEM certificate", o.CAFile)
			}
			tc.RootCAs = pool
		}
		cfg.TLSConfig = tc
	}
	return cfg, nil
}

// New builds the client. gRPC connects lazily: no I/O happens here.
func New(o Options) (*Store, error) {
	cfg, err := Config(o)
	if err != nil {
		return nil, err
	}
	c, err := qdrant.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("qdrant client for %s: %w", config.RedactURL(o.URL), err)
	}
	return &Store{c: c, url: config.RedactURL(o.URL), timeout: o.Timeout}, nil // url is shown, never its credentials
}

func (s *Store) Backend() string { return "qdrant " + s.url }

func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// wrap maps gRPC statuses onto store errors.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%w: %s: %v", store.ErrCollectionNotFound, op, status.Convert(err).Message())
	case codes.InvalidArgument:
		return fmt.Errorf("%w: %s: %v", store.ErrInvalid, op, status.Convert(err).Message())
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return fmt.Errorf("%w: %s: %v", store.ErrUnavailable, op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %v", store.ErrUnavailable, op, err)
	}
	return fmt.Errorf("qdrant %s: %w", op, err)
}

var toQdrant = map[store.Distance]qdrant.Distance{
	store.Cosine: qdrant.Distance_Cosine,
	store.Dot:    qdrant.Distance_Dot,
	store.Euclid: qdrant.Distance_Euclid,
}

func fromQdrant(d qdrant.Distance) store.Distance {
	for k, v := range toQdrant {
		if v == d {
			return k
		}
	}
	return store.Distance(d.String())
}

func (s *Store) Create(ctx context.Context, name string, size int, d store.Distance) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	exists, err := s.c.CollectionExists(ctx, name)
	if err != nil {
		return false, wrap("collection exists", err)
	}
	if exists {
		info, err := s.info(ctx, name)
		if err != nil {
			return false, err
		}
		if info.Size != size || info.Distance != d {
			return false, fmt.Errorf("%w: %s has size %d, distance %s", store.ErrCollectionConflict, name, info.Size, info.Distance)
		}
		return false, nil
	}
	err = s.c.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(size), Distance: toQdrant[d]}),
	})
	if status.Code(err) == codes.AlreadyExists {
		return false, nil // created meanwhile by another replica
	}
	return err == nil, wrap("create collection", err)
}

func (s *Store) Delete(ctx context.Context, name string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	exists, err := s.c.CollectionExists(ctx, name)
	if err != nil {
		return wrap("collection exists", err)
	}
	if !exists {
		return fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	return wrap("delete collection", s.c.DeleteCollection(ctx, name))
}

func (s *Store) Info(ctx context.Context, name string) (store.Info, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.info(ctx, name)
}

func (s *Store) info(ctx context.Context, name string) (store.Info, error) {
	ci, err := s.c.GetCollectionInfo(ctx, name)
	if err != nil {
		return store.Info{}, wrap("collection info", err)
	}
	params := ci.GetConfig().GetParams().GetVectorsConfig().GetParams()
	if params == nil {
		return store.Info{}, fmt.Errorf("%w: collection %s uses named vectors, which this service does not handle", store.ErrInvalid, name)
	}
	return store.Info{Name: name, Size: int(params.GetSize()), Distance: fromQdrant(params.GetDistance()), Points: ci.GetPointsCount(),
		IndexedPoints: ci.IndexedVectorsCount}, nil
}

func pointID(id store.ID) *qdrant.PointId {
	if id.UUID != "" {
		return qdrant.NewIDUUID(id.UUID)
	}
	return qdrant.NewIDNum(id.Num)
}

func fromPointID(p *qdrant.PointId) store.ID {
	if u := p.GetUuid(); u != "" {
		return store.ID{UUID: u}
	}
	return store.ID{Num: p.GetNum()}
}

// payloadIn converts a JSON payload; integral numbers become integers so
// that integer match filters find them.
func payloadIn(p map[string]any) (map[string]*qdrant.Value, error) {
	if len(p) == 0 {
		return nil, nil
	}
	conv := make(map[string]any, len(p))
	for k, v := range p {
		conv[k] = integral(v)
	}
	return qdrant.TryValueMap(conv)
}

func integral(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int64(x)
		}
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = integral(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = integral(e)
		}
		return l
	}
	return v
}

func payloadOut(p map[string]*qdrant.Value) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = valueOut(v)
	}
	return out
}

func valueOut(v *qdrant.Value) any {
	switch k := v.GetKind().(type) {
	case *qdrant.Value_DoubleValue:
		return k.DoubleValue
	case *qdrant.Value_IntegerValue:
		return k.IntegerValue
	case *qdrant.Value_StringValue:
		return k.StringValue
	case *qdrant.Value_BoolValue:
		return k.BoolValue
	case *qdrant.Value_StructValue:
		return payloadOut(k.StructValue.GetFields())
	case *qdrant.Value_ListValue:
		l := make([]any, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			l[i] = valueOut(e)
		}
		return l
	}
	return nil
}

func (s *Store) Upsert(ctx context.Context, name string, points []store.Point) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ps := make([]*qdrant.PointStruct, len(points))
	for i, p := range points {
		payload, err := payloadIn(p.Payload)
		if err != nil {
			return fmt.Errorf("%w: point %s payload: %v", store.ErrInvalid, p.ID, err)
		}
		ps[i] = &qdrant.PointStruct{Id: pointID(p.ID), Vectors: qdrant.NewVectorsDense(p.Vector), Payload: payload}
	}
	wait := true
	_, err := s.c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: name, Wait: &wait, Points: ps})
	return wrap("upsert", err)
}

func filter(f store.Filter) *qdrant.Filter {
	if len(f) == 0 {
		return nil
	}
	var must []*qdrant.Condition
	for k, v := range f {
		switch x := v.(type) {
		case string:
			must = append(must, qdrant.NewMatchKeyword(k, x))
		case bool:
			must = append(must, qdrant.NewMatchBool(k, x))
		case float64:
			must = append(must, qdrant.NewMatchInt(k, int64(x)))
		}
	}
	return &qdrant.Filter{Must: must}
}

func (s *Store) Search(ctx context.Context, name string, vector []float32, limit int, f store.Filter) ([]store.Hit, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.c.GetPointsClient().Search(ctx, &qdrant.SearchPoints{
		CollectionName: name,
		Vector:         vector,
		Limit:          uint64(limit),
		Filter:         filter(f),
		WithPayload:    qdrant.NewWithPayload(true),
		Params:         &qdrant.SearchParams{Exact: &[]bool{true}[0]},
	})
	if err != nil {
		return nil, wrap("search", err)
	}
	hits := make([]store.Hit, len(resp.GetResult()))
	for i, r := range resp.GetResult() {
		hits[i] = store.Hit{ID: fromPointID(r.GetId()), Score: r.GetScore(), Payload: payloadOut(r.GetPayload())}
	}
	return hits, nil
}

func (s *Store) Get(ctx context.Context, name string, id store.ID) (store.Point, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pts, err := s.c.Get(ctx, &qdrant.GetPoints{
		CollectionName: name,
		Ids:            []*qdrant.PointId{pointID(id)},
		WithPayload:    qdrant.NewWithPayload(true),
		WithVectors:    qdrant.NewWithVectors(true),
	})
	if err != nil {
		return store.Point{}, wrap("get point", err)
	}
	if len(pts) == 0 {
		return store.Point{}, fmt.Errorf("%w: %s in %s", store.ErrPointNotFound, id, name)
	}
	p := pts[0]
	vec := p.GetVectors().GetVector()
	data := vec.GetDense().GetData()
	if data == nil {
		data = vec.GetData()
	}
	return store.Point{ID: fromPointID(p.GetId()), Vector: data, Payload: payloadOut(p.GetPayload())}, nil
}

// DeletePoints removes points by id; Qdrant does not say how many were
// there, so the count is -1.
func (s *Store) DeletePoints(ctx context.Context, name string, ids []store.ID) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pids := make([]*qdrant.PointId, len(ids))
	for i, id := range ids {
		pids[i] = pointID(id)
	}
	wait := true
	_, err := s.c.Delete(ctx, &qdrant.DeletePoints{CollectionName: name, Wait: &wait, Points: qdrant.NewPointsSelector(pids...)})
	if err != nil {
		return 0, wrap("delete points", err)
	}
	return -1, nil
}

// Ping runs Qdrant's health check.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.c.HealthCheck(ctx)
	return wrap("health check", err)
}

func (s *Store) Close() error { return s.c.Close() }

var _ store.Store = (*Store)(nil)
