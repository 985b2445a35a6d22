// Package qdrantfake is an in-process gRPC server for tests that implements
// the parts of Qdrant's Qdrant, Collections and Points services that the
// vector group uses, through the server interfaces generated in the
// qdrant/go-client module. No Qdrant server can run here; this one speaks
// the real protocol over a loopback TCP port.
//
// Limits of the fake (what it does NOT model): only single unnamed dense
// vectors; filters only as `must` lists of match conditions on keyword,
// integer and boolean values; search is exact; no HNSW, quantisation,
// shards, replication, snapshots, aliases or write ordering; Upsert is
// always synchronous. Every RPC not listed in the type below answers
// Unimplemented. Errors follow Qdrant's codes: NotFound for a missing
// collection, InvalidArgument for a wrong vector size, AlreadyExists for a
// second Create, Unauthenticated for a missing or wrong api-key.
package qdrantfake

import (
	"context"
	"math"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Server is a running fake.
type Server struct {
	Addr   string // 127.0.0.1:port
	APIKey string

	grpc *grpc.Server
	mu   sync.Mutex
	cols map[string]*collection
	down bool
}

type collection struct {
	size   uint64
	dist   qdrant.Distance
	points map[string]*qdrant.PointStruct
}

// Start serves the fake on a loopback port until the test ends. With a
// non-empty apiKey every call must carry it as "api-key" metadata.
func Start(t testing.TB, apiKey string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), APIKey: apiKey, cols: map[string]*collection{}}
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.auth))
	qdrant.RegisterQdrantServer(s.grpc, &health{s: s})
	qdrant.RegisterCollectionsServer(s.grpc, &collections{s: s})
	qdrant.RegisterPointsServer(s.grpc, &points{s: s})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.grpc.Serve(ln)
	}()
	t.Cleanup(func() { s.grpc.Stop(); <-done })
	return s
}

// SetDown makes every call answer Unavailable (a Qdrant going away).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *Server) auth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, status.Error(codes.Unavailable, "fake qdrant is down")
	}
	if s.APIKey != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("api-key"); len(got) != 1 || got[0] != s.APIKey {
			return nil, status.Error(codes.Unauthenticated, "Invalid api-key")
		}
	}
	return h(ctx, req)
}

type health struct {
	qdrant.UnimplementedQdrantServer
	s *Server
}

func (h *health) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	return &qdrant.HealthCheckReply{Title: "qdrant-fake", Version: "1.17.0-fake"}, nil
}

type collections struct {
	qdrant.UnimplementedCollectionsServer
	s *Server
}

func (c *collections) Get(_ context.Context, r *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	col, ok := c.s.cols[r.GetCollectionName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", r.GetCollectionName())
	}
	n := uint64(len(col.points))
	return &qdrant.GetCollectionInfoResponse{Result: &qdrant.CollectionInfo{
		Status:      qdrant.CollectionStatus_Green,
		PointsCount: &n,
		Config: &qdrant.CollectionConfig{Params: &qdrant.CollectionParams{
			VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: col.size, Distance: col.dist}),
		}},
	}}, nil
}

func (c *collections) CollectionExists(_ context.Context, r *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.cols[r.GetCollectionName()]
	return &qdrant.CollectionExistsResponse{Result: &qdrant.CollectionExists{Exists: ok}}, nil
}

func (c *collections) Create(_ context.Context, r *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	p := r.GetVectorsConfig().GetParams()
	if p == nil || p.GetSize() == 0 {
		return nil, status.Error(codes.InvalidArgument, "Wrong input: the fake needs one unnamed dense vector config")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if _, ok := c.s.cols[r.GetCollectionName()]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", r.GetCollectionName())
	}
	c.s.cols[r.GetCollectionName()] = &collection{size: p.GetSize(), dist: p.GetDistance(), points: map[string]*qdrant.PointStruct{}}
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

func (c *collections) Delete(_ context.Context, r *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.cols[r.GetCollectionName()]
	delete(c.s.cols, r.GetCollectionName())
	return &qdrant.CollectionOperationResponse{Result: ok}, nil
}

type points struct {
	qdrant.UnimplementedPointsServer
	s *Server
}

func key(id *qdrant.PointId) string {
	if u := id.GetUuid(); u != "" {
		return "u" + u
	}
	return "n" + strconv.FormatUint(id.GetNum(), 10)
}

func (s *Server) col(name string) (*collection, error) {
	col, ok := s.cols[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", name)
	}
	return col, nil
}

func dense(v *qdrant.Vectors) []float32 {
	vec := v.GetVector()
	if d := vec.GetDense().GetData(); d != nil {
		return d
	}
	return vec.GetData()
}

func (p *points) Upsert(_ context.Context, r *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	for _, pt := range r.GetPoints() {
		if n := len(dense(pt.GetVectors())); uint64(n) != col.size {
			return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", col.size, n)
		}
	}
	for _, pt := range r.GetPoints() {
		col.points[key(pt.GetId())] = proto.Clone(pt).(*qdrant.PointStruct)
	}
	return &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{Status: qdrant.UpdateStatus_Completed}}, nil
}

func (p *points) Delete(_ context.Context, r *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	for _, id := range r.GetPoints().GetPoints().GetIds() {
		delete(col.points, key(id))
	}
	return &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{Status: qdrant.UpdateStatus_Completed}}, nil
}

func (p *points) Get(_ context.Context, r *qdrant.GetPoints) (*qdrant.GetResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	resp := &qdrant.GetResponse{}
	for _, id := range r.GetIds() {
		pt, ok := col.points[key(id)]
		if !ok {
			continue
		}
		rp := &qdrant.RetrievedPoint{Id: pt.GetId(), Payload: pt.GetPayload()}
		if r.GetWithVectors().GetEnable() {
			rp.Vectors = &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{
				Vector: &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: dense(pt.GetVectors())}}}}}
		}
		resp.Result = append(resp.Result, rp)
	}
	return resp, nil
}

func matches(f *qdrant.Filter, payload map[string]*qdrant.Value) bool {
	for _, c := range f.GetMust() {
		fc := c.GetField()
		v, ok := payload[fc.GetKey()]
		if !ok {
			return false
		}
		m := fc.GetMatch()
		switch mv := m.GetMatchValue().(type) {
		case *qdrant.Match_Keyword:
			if v.GetStringValue() != mv.Keyword {
				return false
			}
		case *qdrant.Match_Integer:
			if _, isInt := v.GetKind().(*qdrant.Value_IntegerValue); !isInt || v.GetIntegerValue() != mv.Integer {
				return false
			}
		case *qdrant.Match_Boolean:
			if _, isBool := v.GetKind().(*qdrant.Value_BoolValue); !isBool || v.GetBoolValue() != mv.Boolean {
				return false
			}
		default:
			return false // not modelled
		}
	}
	return true
}

func (p *points) Search(_ context.Context, r *qdrant.SearchPoints) (*qdrant.SearchResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	q := r.GetVector()
	if uint64(len(q)) != col.size {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", col.size, len(q))
	}
	var out []*qdrant.ScoredPoint
	for _, pt := range col.points {
		if !matches(r.GetFilter(), pt.GetPayload()) {
			continue
		}
		v := dense(pt.GetVectors())
		var d, nq, nv, e float64
		for i := range q {
			d += float64(q[i]) * float64(v[i])
			nq += float64(q[i]) * float64(q[i])
			nv += float64(v[i]) * float64(v[i])
			e += (float64(q[i]) - float64(v[i])) * (float64(q[i]) - float64(v[i]))
		}
		var score float64
		switch col.dist {
		case qdrant.Distance_Cosine:
			score = d / math.Sqrt(nq*nv)
		case qdrant.Distance_Euclid:
			score = math.Sqrt(e)
		default:
			score = d
		}
		sp := &qdrant.ScoredPoint{Id: pt.GetId(), Score: float32(score)}
		if r.GetWithPayload().GetEnable() {
			sp.Payload = pt.GetPayload()
		}
		out = append(out, sp)
	}
	asc := col.dist == qdrant.Distance_Euclid
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return (out[i].Score < out[j].Score) == asc
		}
		return out[i].GetId().String() < out[j].GetId().String()
	})
	if uint64(len(out)) > r.GetLimit() {
		out = out[:r.GetLimit()]
	}
	return &qdrant.SearchResponse{Result: out}, nil
}
