// Package store is the vector store contract of the vector group: the types
// (collections, point ids, points, hits, payload filters), the checks every
// backend shares, and the Store interface that the embedded index
// (store/memory) and the Qdrant adapter (store/qdrantstore) implement.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Bounds shared by every backend.
const (
	MaxDimension = 65536 // Qdrant's own limit for a dense vector
	MaxNameLen   = 64
)

// Errors the HTTP layer maps to statuses.
var (
	ErrCollectionNotFound = errors.New("collection not found")
	ErrPointNotFound      = errors.New("point not found")
	// ErrCollectionConflict: a collection of that name exists with another size or distance.
	ErrCollectionConflict = errors.New("collection exists with other parameters")
	// ErrFull: the embedded index is at its bound.
	ErrFull = errors.New("vector store is full")
	// ErrUnavailable: the remote store did not answer (in time).
	ErrUnavailable = errors.New("vector store unavailable")
	// ErrInvalid: the backend rejected the input.
	ErrInvalid = errors.New("invalid input")
	// ErrPayloadTooLarge: one point's payload passes the per-point byte bound.
	ErrPayloadTooLarge = errors.New("payload too large")
)

// Distance is a collection's metric.
type Distance string

// The metrics. Scores: cosine similarity and dot product (higher is nearer)
// and Euclidean distance (lower is nearer), as Qdrant reports them.
const (
	Cosine Distance = "cosine"
	Dot    Distance = "dot"
	Euclid Distance = "euclid"
)

// ParseDistance accepts cosine, dot and euclid (any case; "euclidean" too).
func ParseDistance(s string) (Distance, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cosine":
		return Cosine, nil
	case "dot":
		return Dot, nil
	case "euclid", "euclidean":
		return Euclid, nil
	}
	return "", fmt.Errorf("distance %q: want cosine, dot or euclid", s)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckName validates a collection name.
func CheckName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen || !nameRE.MatchString(name) {
		return fmt.Errorf("collection name %q: want 1 to %d letters, digits, '_' or '-'", name, MaxNameLen)
	}
	return nil
}

// ID is a point id: an unsigned 64-bit integer or a UUID (Qdrant's two
// kinds). The zero UUID field means a numeric id.
type ID struct {
	Num  uint64
	UUID string // canonical lower-case form
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

const idRule = "want an unsigned 64-bit integer or a UUID"

// ParseID reads an id from text (a path segment): decimal digits or a UUID.
func ParseID(s string) (ID, error) {
	if uuidRE.MatchString(s) {
		return ID{UUID: strings.ToLower(s)}, nil
	}
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return ID{}, fmt.Errorf("id %s is out of range: %s", s, idRule)
		}
		return ID{Num: n}, nil
	}
	return ID{}, fmt.Errorf("id %q: %s", s, idRule)
}

// ParseIDJSON reads an id from JSON: a non-negative integer or a string
// holding digits or a UUID. Other values are rejected, never mapped.
func ParseIDJSON(raw json.RawMessage) (ID, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return ID{}, fmt.Errorf("id is missing: %s", idRule)
	case s[0] == '"':
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return ID{}, fmt.Errorf("id %s: %s", s, idRule)
		}
		return ParseID(str)
	case strings.Trim(s, "0123456789") == "":
		return ParseID(s)
	}
	return ID{}, fmt.Errorf("id %s: %s", s, idRule)
}

func (id ID) String() string {
	if id.UUID != "" {
		return id.UUID
	}
	return strconv.FormatUint(id.Num, 10)
}

// MarshalJSON writes a number for numeric ids and a string for UUIDs.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.UUID != "" {
		return json.Marshal(id.UUID)
	}
	return []byte(strconv.FormatUint(id.Num, 10)), nil
}

// Point is a stored point.
type Point struct {
	ID      ID             `json:"id"`
	Vector  []float32      `json:"vector"`
	Payload map[string]any `json:"payload"`
}

// Hit is one search result.
type Hit struct {
	ID      ID             `json:"id"`
	Score   float32        `json:"score"`
	Payload map[string]any `json:"payload"`
}

// Info describes a collection.
type Info struct {
	Name     string   `json:"name"`
	Size     int      `json:"size"`
	Distance Distance `json:"distance"`
	Points   uint64   `json:"points"`
	// Index is the collection's index (the embedded store reports it).
	Index *IndexSpec `json:"index,omitempty"`
	// IndexedPoints is how many points the collection's HNSW graph links
	// (Qdrant's indexed_vectors_count); the others wait for the embedded
	// store's background linker and are searched exactly meanwhile. Absent
	// for a flat collection.
	IndexedPoints *uint64 `json:"indexed_vectors_count,omitempty"`
}

// The index types of a collection.
const (
	IndexFlat = "flat" // exact scan (int8 codes, exact rescoring): the default
	IndexHNSW = "hnsw" // approximate: a graph searched with ef candidates
)

// Bounds and defaults of an HNSW index.
const (
	DefaultHNSWM              = 16
	DefaultHNSWEfConstruction = 200
	DefaultHNSWEf             = 100
	MinHNSWM, MaxHNSWM        = 4, 64
	MaxHNSWEf                 = 4096 // ef_construction and ef alike
)

// IndexSpec chooses a collection's index at creation.
type IndexSpec struct {
	Type           string `json:"type"`
	M              int    `json:"m,omitempty"`
	EfConstruction int    `json:"ef_construction,omitempty"`
}

// Normalize fills the defaults (an empty spec is flat) and checks the
// bounds.
func (s IndexSpec) Normalize() (IndexSpec, error) {
	switch strings.ToLower(strings.TrimSpace(s.Type)) {
	case "", IndexFlat:
		if s.M != 0 || s.EfConstruction != 0 {
			return s, errors.New("index: m and ef_construction apply to type hnsw only")
		}
		return IndexSpec{Type: IndexFlat}, nil
	case IndexHNSW:
		out := IndexSpec{Type: IndexHNSW, M: s.M, EfConstruction: s.EfConstruction}
		if out.M == 0 {
			out.M = DefaultHNSWM
		}
		if out.EfConstruction == 0 {
			out.EfConstruction = DefaultHNSWEfConstruction
		}
		if out.M < MinHNSWM || out.M > MaxHNSWM {
			return s, fmt.Errorf("index.m: want %d to %d, got %d", MinHNSWM, MaxHNSWM, out.M)
		}
		if out.EfConstruction < out.M || out.EfConstruction > MaxHNSWEf {
			return s, fmt.Errorf("index.ef_construction: want m (%d) to %d, got %d", out.M, MaxHNSWEf, out.EfConstruction)
		}
		return out, nil
	}
	return s, fmt.Errorf("index.type %q: want flat or hnsw", s.Type)
}

// SearchParams tune one search; the zero value is the defaults.
type SearchParams struct {
	// Ef is how many candidates an HNSW search keeps (at least the limit;
	// 0 means DefaultHNSWEf). Flat collections ignore it.
	Ef int
	// Exact makes an HNSW collection answer by the exact scan.
	Exact bool
}

// Indexed is a Store that builds an index chosen per collection and takes
// search parameters (the embedded store).
type Indexed interface {
	CreateIndexed(ctx context.Context, name string, size int, d Distance, spec IndexSpec) (created bool, err error)
	SearchWith(ctx context.Context, name string, vector []float32, limit int, f Filter, p SearchParams) ([]Hit, error)
}

// Filter keeps the points whose payload has every key with an equal value.
// Values are strings, integers or booleans (what Qdrant's match conditions
// take).
type Filter map[string]any

// Check validates a filter decoded from JSON.
func (f Filter) Check() error {
	for k, v := range f {
		if k == "" {
			return errors.New("filter: empty key")
		}
		switch x := v.(type) {
		case string, bool:
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return fmt.Errorf("filter %s: numbers must be integers", k)
			}
		default:
			return fmt.Errorf("filter %s: want a string, integer or boolean value", k)
		}
	}
	return nil
}

// Match reports whether payload satisfies the filter.
func (f Filter) Match(payload map[string]any) bool {
	for k, want := range f {
		got, ok := payload[k]
		if !ok || got != want {
			return false
		}
	}
	return true
}

// CheckVector validates a vector against a collection.
func CheckVector(v []float32, size int, d Distance) error {
	if len(v) != size {
		return fmt.Errorf("vector has %d dimensions, collection wants %d", len(v), size)
	}
	zero := true
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return errors.New("vector holds a value that is not a finite float32")
		}
		if x != 0 {
			zero = false
		}
	}
	if zero && d == Cosine {
		return errors.New("a zero vector has no direction: cosine collections reject it")
	}
	return nil
}

// PayloadDepth returns how deeply a decoded JSON value nests: 0 for a
// scalar, 1 for an object or array of scalars, and so on.
func PayloadDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, PayloadDepth(e))
		}
		return d + 1
	case []any:
		for _, e := range x {
			d = max(d, PayloadDepth(e))
		}
		return d + 1
	}
	return 0
}

// EncodePayload checks a payload against the per-point bounds (its JSON
// encoding at most maxBytes, its nesting at most maxDepth with the payload
// object itself at depth 1) and returns that encoding, nil for an empty
// payload. Keys come out sorted, so equal payloads encode equally.
func EncodePayload(p map[string]any, maxBytes, maxDepth int) ([]byte, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if d := PayloadDepth(p); d > maxDepth {
		return nil, fmt.Errorf("%w: payload nests %d levels deep, the bound is %d (VECTOR_MAX_PAYLOAD_DEPTH)", ErrInvalid, d, maxDepth)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	if len(b) > maxBytes {
		return nil, fmt.Errorf("%w: payload is %d bytes as JSON, the bound is %d per point (VECTOR_MAX_PAYLOAD_BYTES)", ErrPayloadTooLarge, len(b), maxBytes)
	}
	return b, nil
}

// Encoded is a point to write whose payload has been checked against the
// per-point bounds and encoded by EncodePayload (nil when empty).
type Encoded struct {
	ID      ID
	Vector  []float32
	Payload []byte
}

// EncodedWriter is a Store that keeps payloads as their canonical JSON (the
// embedded index). The points route checks and encodes every payload once,
// before any embedding call, for every backend; a backend with this method
// keeps that encoding instead of making its own.
type EncodedWriter interface {
	UpsertEncoded(ctx context.Context, name string, points []Encoded) error
}

// Store is a vector store backend. Methods return the errors above
// (wrapped) so the HTTP layer can choose statuses.
type Store interface {
	// Backend names the backend for the capability detail.
	Backend() string
	// Create makes a collection; created is false when an identical one
	// already exists.
	Create(ctx context.Context, name string, size int, d Distance) (created bool, err error)
	Delete(ctx context.Context, name string) error
	Info(ctx context.Context, name string) (Info, error)
	// Upsert inserts or replaces points; vectors are already checked.
	Upsert(ctx context.Context, name string, points []Point) error
	// Search returns up to limit nearest points (exact search).
	Search(ctx context.Context, name string, vector []float32, limit int, f Filter) ([]Hit, error)
	Get(ctx context.Context, name string, id ID) (Point, error)
	// DeletePoints removes the points with these ids (absent ids are no
	// error) and reports how many were there (-1 when the backend cannot tell).
	DeletePoints(ctx context.Context, name string, ids []ID) (int, error)
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	Close() error
}
