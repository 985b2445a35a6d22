package memory

// refIndex is the oracle the index's searches are compared with (same ids,
// same order, same scores): a Go map of points walked on every search,
// which scores every point that passes the filter in float64, sorts all the
// scores and takes the first limit. It shares no code with the index
// (memory.go's heaps included), so a bug in the index's selection cannot
// pass here too. It is also the baseline of BenchmarkSearch100k ("map").

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// refIndex is safe for concurrent use.
type refIndex struct {
	maxPoints      int
	maxCollections int

	mu    sync.RWMutex
	total int
	cols  map[string]*refCollection
}

type refCollection struct {
	size   int
	dist   store.Distance
	points map[store.ID]*refEntry
}

type refEntry struct {
	vec     []float32
	norm    float64
	payload map[string]any
}

// New returns an empty index holding at most maxPoints points (over all
// collections) in at most maxCollections collections.
func newRef(maxPoints, maxCollections int) *refIndex {
	return &refIndex{maxPoints: maxPoints, maxCollections: maxCollections, cols: map[string]*refCollection{}}
}

// Backend names the backend.
func (x *refIndex) Backend() string {
	return fmt.Sprintf("embedded in-memory index (max %d points, %d collections)", x.maxPoints, x.maxCollections)
}

// Len returns the number of points held.
func (x *refIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.total
}

func (x *refIndex) Create(_ context.Context, name string, size int, d store.Distance) (bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if c, ok := x.cols[name]; ok {
		if c.size != size || c.dist != d {
			return false, fmt.Errorf("%w: %s has size %d, distance %s", store.ErrCollectionConflict, name, c.size, c.dist)
		}
		return false, nil
	}
	if len(x.cols) >= x.maxCollections {
		return false, fmt.Errorf("%w: %d collections (VECTOR_MEMORY_MAX_COLLECTIONS)", store.ErrFull, x.maxCollections)
	}
	x.cols[name] = &refCollection{size: size, dist: d, points: map[store.ID]*refEntry{}}
	return true, nil
}

func (x *refIndex) Delete(_ context.Context, name string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.cols[name]
	if !ok {
		return fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	x.total -= len(c.points)
	delete(x.cols, name)
	return nil
}

func (x *refIndex) Info(_ context.Context, name string) (store.Info, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return store.Info{}, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	return store.Info{Name: name, Size: c.size, Distance: c.dist, Points: uint64(len(c.points))}, nil
}

// Upsert is all or nothing: a point of the wrong size or a batch that would
// pass the bound changes nothing.
func (x *refIndex) Upsert(_ context.Context, name string, points []store.Point) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.cols[name]
	if !ok {
		return fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	added := 0
	seen := map[store.ID]bool{}
	for i, p := range points {
		if err := store.CheckVector(p.Vector, c.size, c.dist); err != nil {
			return fmt.Errorf("%w: point %d (id %s): %v", store.ErrInvalid, i, p.ID, err)
		}
		if _, exists := c.points[p.ID]; !exists && !seen[p.ID] {
			added++
		}
		seen[p.ID] = true
	}
	if x.total+added > x.maxPoints {
		return fmt.Errorf("%w: %d points held, %d new would pass the bound of %d (VECTOR_MEMORY_MAX_POINTS)",
			store.ErrFull, x.total, added, x.maxPoints)
	}
	for _, p := range points {
		c.points[p.ID] = &refEntry{vec: slices.Clone(p.Vector), norm: refNorm(p.Vector), payload: maps.Clone(p.Payload)}
	}
	x.total += added
	return nil
}

func refNorm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func refDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func refEuclid(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// Search scores every point that passes the filter and returns the best
// limit, nearest first; ties go to the smaller id.
func (x *refIndex) Search(_ context.Context, name string, q []float32, limit int, f store.Filter) ([]store.Hit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	if err := store.CheckVector(q, c.size, c.dist); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	qn := refNorm(q)
	lowerIsBetter := c.dist == store.Euclid
	// better reports whether a ranks before b: nearer, then smaller id.
	better := func(a, b refScored) bool {
		if a.score != b.score {
			return (a.score < b.score) == lowerIsBetter
		}
		return refCmpID(a.id, b.id) < 0
	}
	// every point that passes is scored and all of them sorted: no heap, no
	// pruning, nothing shared with the index's search, so a bug there (its
	// top-k heap, the bound heap of the int8 scan) cannot pass here too
	var all []refScored
	for id, e := range c.points {
		if !f.Match(e.payload) {
			continue
		}
		var s float64
		switch c.dist {
		case store.Cosine:
			s = refDot(q, e.vec) / (qn * e.norm)
		case store.Dot:
			s = refDot(q, e.vec)
		case store.Euclid:
			s = refEuclid(q, e.vec)
		}
		all = append(all, refScored{id, s, e})
	}
	slices.SortFunc(all, func(a, b refScored) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	top := all[:min(limit, len(all))]
	out := make([]store.Hit, len(top))
	for i, h := range top {
		out[i] = store.Hit{ID: h.id, Score: float32(h.score), Payload: maps.Clone(h.e.payload)}
	}
	return out, nil
}

type refScored struct {
	id    store.ID
	score float64
	e     *refEntry
}

func refCmpID(a, b store.ID) int {
	if a.UUID == "" && b.UUID == "" {
		return cmp.Compare(a.Num, b.Num)
	}
	return cmp.Compare(a.String(), b.String())
}

func (x *refIndex) Get(_ context.Context, name string, id store.ID) (store.Point, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return store.Point{}, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	e, ok := c.points[id]
	if !ok {
		return store.Point{}, fmt.Errorf("%w: %s in %s", store.ErrPointNotFound, id, name)
	}
	return store.Point{ID: id, Vector: slices.Clone(e.vec), Payload: maps.Clone(e.payload)}, nil
}

// Ping always succeeds: the index is in the process.
func (x *refIndex) Ping(context.Context) error { return nil }

// Close drops nothing; the index lives as long as the process.
func (x *refIndex) Close() error { return nil }
