// Package memory is the embedded vector index: collections of points held
// in memory, exact (brute-force) search by cosine similarity, dot product or
// Euclidean distance, bounded in points and collections. It is the vector
// group's store when QDRANT_URL is not set; nothing is persisted.
package memory

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

// Index is safe for concurrent use.
type Index struct {
	maxPoints      int
	maxCollections int

	mu    sync.RWMutex
	total int
	cols  map[string]*collection
}

type collection struct {
	size   int
	dist   store.Distance
	points map[store.ID]*entry
}

type entry struct {
	vec     []float32
	norm    float64
	payload map[string]any
}

// New returns an empty index holding at most maxPoints points (over all
// collections) in at most maxCollections collections.
func New(maxPoints, maxCollections int) *Index {
	return &Index{maxPoints: maxPoints, maxCollections: maxCollections, cols: map[string]*collection{}}
}

// Backend names the backend.
func (x *Index) Backend() string {
	return fmt.Sprintf("embedded in-memory index (max %d points, %d collections)", x.maxPoints, x.maxCollections)
}

// Len returns the number of points held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.total
}

func (x *Index) Create(_ context.Context, name string, size int, d store.Distance) (bool, error) {
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
	x.cols[name] = &collection{size: size, dist: d, points: map[store.ID]*entry{}}
	return true, nil
}

func (x *Index) Delete(_ context.Context, name string) error {
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

func (x *Index) Info(_ context.Context, name string) (store.Info, error) {
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
func (x *Index) Upsert(_ context.Context, name string, points []store.Point) error {
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
		c.points[p.ID] = &entry{vec: slices.Clone(p.Vector), norm: norm(p.Vector), payload: maps.Clone(p.Payload)}
	}
	x.total += added
	return nil
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func euclid(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// Search scores every point that passes the filter and returns the best
// limit, nearest first; ties go to the smaller id.
func (x *Index) Search(_ context.Context, name string, q []float32, limit int, f store.Filter) ([]store.Hit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	if err := store.CheckVector(q, c.size, c.dist); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	qn := norm(q)
	type scored struct {
		id    store.ID
		score float64
		e     *entry
	}
	hits := make([]scored, 0, len(c.points))
	for id, e := range c.points {
		if !f.Match(e.payload) {
			continue
		}
		var s float64
		switch c.dist {
		case store.Cosine:
			s = dot(q, e.vec) / (qn * e.norm)
		case store.Dot:
			s = dot(q, e.vec)
		case store.Euclid:
			s = euclid(q, e.vec)
		}
		hits = append(hits, scored{id, s, e})
	}
	lowerIsBetter := c.dist == store.Euclid
	slices.SortFunc(hits, func(a, b scored) int {
		if a.score != b.score {
			if (a.score < b.score) == lowerIsBetter {
				return -1
			}
			return 1
		}
		return cmpID(a.id, b.id)
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]store.Hit, len(hits))
	for i, h := range hits {
		out[i] = store.Hit{ID: h.id, Score: float32(h.score), Payload: maps.Clone(h.e.payload)}
	}
	return out, nil
}

func cmpID(a, b store.ID) int {
	if a.UUID == "" && b.UUID == "" {
		return cmp.Compare(a.Num, b.Num)
	}
	return cmp.Compare(a.String(), b.String())
}

func (x *Index) Get(_ context.Context, name string, id store.ID) (store.Point, error) {
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
func (x *Index) Ping(context.Context) error { return nil }

// Close drops nothing; the index lives as long as the process.
func (x *Index) Close() error { return nil }

var _ store.Store = (*Index)(nil)
