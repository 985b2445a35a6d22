// Package memory is the embedded vector index: collections of points held
// in memory in dense storage (each collection's vectors in blocks of a few
// MiB that never move once full, norms precomputed), exact search by cosine similarity, dot product or Euclidean
// distance, bounded in points, collections and bytes. It persists nothing:
// store/durable wraps it and logs each change between the index's check of
// it (Plan*) and its application (Commit).
//
// Files: memory.go the index and its reads by id; change.go the write path
// (checks, bounds, apply); storage.go a collection's storage, vectors.go
// its blocks of vectors, hugepage_*.go their huge-page advice; search.go the exact scan; quant.go
// the int8 codes; hnsw*.go the graph index; link.go parallel graph
// inserts; linker.go the background linking of upserted points;
// graphfile.go the graph's file.
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// Limits bound what the index holds.
type Limits struct {
	MaxPoints      int
	MaxCollections int
	// MaxBytes bounds the bytes held: vectors, payloads and the per-point
	// overhead (PointOverhead).
	MaxBytes int64
	// MaxPayloadBytes bounds one point's payload (its JSON encoding).
	MaxPayloadBytes int
	// MaxPayloadDepth bounds how deeply one payload nests.
	MaxPayloadDepth int
	// MaxUnlinked bounds the points of an HNSW collection that an upsert
	// leaves unlinked for the background linker (linker.go); 0 links every
	// upsert's points before it returns.
	MaxUnlinked int
}

// PointOverhead is what the index holds per point besides its vector and
// payload bytes: the id, the norm, the position map entry and the slice
// headers. BenchmarkMemoryPerPoint measures the real figure.
const PointOverhead = 96

// BytesPerDim is what a dimension costs: a float32 and its int8 code.
const BytesPerDim = 5

// Index is safe for concurrent use.
type Index struct {
	lim Limits

	mu     sync.RWMutex
	cols   map[string]*collection
	points int
	bytes  int64
	// version counts applied changes: a Change checked against one
	// version commits only at that version (Commit)
	version uint64
	// stats mirrors len(cols), points and bytes for Stats, which must not
	// wait behind a snapshot holding the lock (readiness asks it)
	stats atomic.Pointer[Stats]
	// lk links HNSW nodes in the background (linker.go), under mu
	lk linker
}

type collection struct {
	size int
	dist store.Distance
	// point i: vecs.at(i), norms[i], ids[i], ...
	vecs     vectors
	norms    []float64
	ids      []store.ID
	payloads [][]byte
	scalars  [][]kv // the payload's top-level strings, numbers and booleans, for filters
	cost     []int64
	pos      map[store.ID]int
	// the int8 codes of point i: codes[i*size:(i+1)*size], times scales[i]
	// (quant.go); the quantized scan reads these, not vecs. An HNSW
	// collection has none (hnsw.go); point i is its graph's node slots[i].
	codes  []int8
	scales []float32
	spec   store.IndexSpec
	g      *graph // nil for a flat collection
	slots  []int32
	// deferred: no index yet, neither codes nor graph (Op.Deferred); the
	// exact scan then reads the float32 vectors, as for an HNSW collection
	deferred bool
}

// coded reports whether the collection keeps int8 codes of its points: a
// flat one, once its index is given.
func (c *collection) coded() bool { return c.g == nil && !c.deferred }

type kv struct {
	k string
	v any
}

// New returns an empty index.
func New(lim Limits) *Index {
	x := &Index{lim: lim, cols: map[string]*collection{}, lk: linker{progress: make(chan struct{})}}
	x.lk.idle = sync.NewCond(&x.lk.gate)
	x.stats.Store(&Stats{})
	return x
}

// Limits returns the bounds.
func (x *Index) Limits() Limits { return x.lim }

// Backend names the backend.
func (x *Index) Backend() string {
	return fmt.Sprintf("embedded in-memory index (max %d points, %d collections, %d bytes)", x.lim.MaxPoints, x.lim.MaxCollections, x.lim.MaxBytes)
}

// Stats is what the index holds.
type Stats struct {
	Collections int   `json:"collections"`
	Points      int   `json:"points"`
	Bytes       int64 `json:"bytes"`
}

// Stats returns what the index holds, without waiting for its lock.
func (x *Index) Stats() Stats { return *x.stats.Load() }

// Len returns the number of points held.
func (x *Index) Len() int { return x.Stats().Points }

// Info stops a chunk the linker is linking, as a change does (lockPlan):
// the points route asks it before each upsert, and waiting behind a chunk
// there held one client's batches to about a third of the rate.
func (x *Index) Info(_ context.Context, name string) (store.Info, error) {
	x.lockPlan()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return store.Info{}, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	spec := c.spec
	info := store.Info{Name: name, Size: c.size, Distance: c.dist, Points: uint64(len(c.ids)), Index: &spec}
	if c.g != nil {
		linked := uint64(len(c.ids) - c.g.nwait)
		info.IndexedPoints = &linked
	}
	return info, nil
}

func specString(s store.IndexSpec) string {
	if s.Type == store.IndexHNSW {
		return fmt.Sprintf("hnsw (m %d, ef_construction %d)", s.M, s.EfConstruction)
	}
	return s.Type
}

func (x *Index) Get(_ context.Context, name string, id store.ID) (store.Point, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return store.Point{}, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	i, ok := c.pos[id]
	if !ok {
		return store.Point{}, fmt.Errorf("%w: %s in %s", store.ErrPointNotFound, id, name)
	}
	p, err := decodePayload(c.payloads[i])
	if err != nil {
		return store.Point{}, err
	}
	return store.Point{ID: id, Vector: slices.Clone(c.vecs.at(i)), Payload: p}, nil
}

func decodePayload(b []byte) (map[string]any, error) {
	if b == nil {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode stored payload: %w", err)
	}
	return m, nil
}

// Ping always succeeds: the index is in the process.
func (x *Index) Ping(context.Context) error { return nil }

var (
	_ store.Store         = (*Index)(nil)
	_ store.Indexed       = (*Index)(nil)
	_ store.EncodedWriter = (*Index)(nil)
)
