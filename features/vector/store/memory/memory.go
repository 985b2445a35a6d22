// Package memory is the embedded vector index: collections of points held
// in memory in contiguous storage (one []float32 per collection, norms
// precomputed), exact search by cosine similarity, dot product or Euclidean
// distance, bounded in points, collections and bytes. When a Journal is set
// (store/durable keeps one on disk) every change is written to it before it
// is applied; without one nothing is persisted.
package memory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
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
}

// PointOverhead is what the index holds per point besides its vector and
// payload bytes: the id, the norm, the position map entry and the slice
// headers. BenchmarkMemoryPerPoint measures the real figure.
const PointOverhead = 96

// BytesPerDim is what a dimension costs: a float32 and its int8 code.
const BytesPerDim = 5

// nodeCost is what a point costs in the graph of an HNSW collection
// besides its vector: its layer-0 links, node and position maps, level.
func (c *collection) nodeCost() int64 {
	if c.g == nil {
		return 0
	}
	return int64(4*(c.g.m0+1) + 4 + 4 + 1)
}

// Kind is the kind of a change.
type Kind uint8

// The changes the index knows.
const (
	OpCreate Kind = iota + 1 // Collection, Size, Distance
	OpDrop                   // Collection
	OpUpsert                 // Collection, Points
	OpDelete                 // Collection, IDs
)

// Op is one change, as the journal records it and replay applies it.
type Op struct {
	Kind       Kind
	Collection string
	Size       int
	Distance   store.Distance
	// Index of an OpCreate (the zero value is flat). The durable store
	// keeps it beside its log, whose record format predates it.
	Index  store.IndexSpec
	Points []Record
	IDs    []store.ID
}

// Record is one point as the index keeps it: the payload as canonical JSON
// (nil when empty).
type Record struct {
	ID      store.ID
	Vector  []float32
	Payload []byte
}

// Journal keeps the changes. Write runs under the index's write lock, so
// records come in apply order; an error rejects the change and leaves the
// index as it was. The commit it returns makes the change durable; it runs
// after the lock is released and before the write is acknowledged.
type Journal interface {
	Write(op *Op) (commit func() error, err error)
}

// Index is safe for concurrent use.
type Index struct {
	lim Limits

	mu      sync.RWMutex
	journal Journal
	cols    map[string]*collection
	points  int
	bytes   int64
	// stats mirrors len(cols), points and bytes for Stats, which must not
	// wait behind a snapshot holding the lock (readiness asks it)
	stats atomic.Pointer[Stats]
}

type collection struct {
	size int
	dist store.Distance
	// point i: vecs[i*size:(i+1)*size], norms[i], ids[i], ...
	vecs     []float32
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
}

type kv struct {
	k string
	v any
}

// New returns an empty index.
func New(lim Limits) *Index {
	x := &Index{lim: lim, cols: map[string]*collection{}}
	x.stats.Store(&Stats{})
	return x
}

// SetJournal makes every later change go through j first.
func (x *Index) SetJournal(j Journal) {
	x.mu.Lock()
	x.journal = j
	x.mu.Unlock()
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

// write journals op (when there is a journal) and applies it; the caller
// holds the write lock and calls the returned commit after releasing it.
func (x *Index) write(op *Op, prepared []prepared) (func() error, error) {
	commit := func() error { return nil }
	if x.journal != nil {
		c, err := x.journal.Write(op)
		if err != nil {
			return nil, err
		}
		commit = c
	}
	if err := x.apply(op, prepared); err != nil {
		// validated above: an error here is a bug, and the journal already holds op
		panic(fmt.Sprintf("vector index: apply after validation: %v", err))
	}
	return commit, nil
}

// Create makes a flat collection.
func (x *Index) Create(ctx context.Context, name string, size int, d store.Distance) (bool, error) {
	return x.CreateIndexed(ctx, name, size, d, store.IndexSpec{})
}

// CreateIndexed makes a collection with the index spec chooses (flat when
// empty); an existing one must have the same parameters.
func (x *Index) CreateIndexed(_ context.Context, name string, size int, d store.Distance, spec store.IndexSpec) (bool, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return false, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	commit, created, err := func() (func() error, bool, error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		if c, ok := x.cols[name]; ok {
			if c.size != size || c.dist != d || c.spec != spec {
				return nil, false, fmt.Errorf("%w: %s has size %d, distance %s, index %s", store.ErrCollectionConflict, name, c.size, c.dist, specString(c.spec))
			}
			return nil, false, nil
		}
		if size < 1 || size > store.MaxDimension {
			return nil, false, fmt.Errorf("%w: size %d: want 1 to %d", store.ErrInvalid, size, store.MaxDimension)
		}
		if len(x.cols) >= x.lim.MaxCollections {
			return nil, false, fmt.Errorf("%w: %d collections (VECTOR_MEMORY_MAX_COLLECTIONS)", store.ErrFull, x.lim.MaxCollections)
		}
		commit, err := x.write(&Op{Kind: OpCreate, Collection: name, Size: size, Distance: d, Index: spec}, nil)
		return commit, err == nil, err
	}()
	if err != nil || commit == nil {
		return false, err
	}
	return created, commit()
}

func (x *Index) Delete(_ context.Context, name string) error {
	commit, err := func() (func() error, error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		if _, ok := x.cols[name]; !ok {
			return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
		}
		return x.write(&Op{Kind: OpDrop, Collection: name}, nil)
	}()
	if err != nil {
		return err
	}
	return commit()
}

func (x *Index) Info(_ context.Context, name string) (store.Info, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return store.Info{}, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	spec := c.spec
	return store.Info{Name: name, Size: c.size, Distance: c.dist, Points: uint64(len(c.ids)), Index: &spec}, nil
}

func specString(s store.IndexSpec) string {
	if s.Type == store.IndexHNSW {
		return fmt.Sprintf("hnsw (m %d, ef_construction %d)", s.M, s.EfConstruction)
	}
	return s.Type
}

// SetIndex gives an existing collection the index spec chooses, building
// its graph from the points it holds, without journaling (the durable
// store keeps the choice itself and calls this at reopen).
// It reports whether it built a graph (false when the collection already
// had this index).
func (x *Index) SetIndex(name string, spec store.IndexSpec) (bool, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return false, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.cols[name]
	if !ok {
		return false, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	if c.spec == spec {
		return false, nil
	}
	c.setIndex(spec)
	return spec.Type == store.IndexHNSW, nil
}

func (c *collection) setIndex(spec store.IndexSpec) {
	if spec == c.spec {
		return
	}
	if c.g != nil { // back to flat: codes by position
		c.codes, c.scales = make([]int8, len(c.ids)*c.size), make([]float32, len(c.ids))
		for i := range c.ids {
			c.scales[i] = quantize(c.vecs[i*c.size:(i+1)*c.size], c.codes[i*c.size:(i+1)*c.size])
		}
		c.g, c.slots = nil, nil
	}
	c.spec = spec
	if spec.Type == store.IndexHNSW {
		c.g = newGraph(spec)
		c.rebuildGraph()
	}
}

// prepared is a record with what the index derives from it.
type prepared struct {
	scalars []kv
	cost    int64
}

// prepare decodes what filters need from a record's payload and counts
// the bytes it will hold.
func prepare(r Record) (prepared, error) {
	cost := int64(BytesPerDim*len(r.Vector)+len(r.Payload)) + PointOverhead
	if r.Payload == nil {
		return prepared{cost: cost}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.Payload, &m); err != nil {
		return prepared{}, fmt.Errorf("payload of point %s: %w", r.ID, err)
	}
	var sc []kv
	for k, v := range m {
		switch v.(type) {
		case string, float64, bool:
			sc = append(sc, kv{k, v})
			cost += int64(32 + len(k))
			if s, ok := v.(string); ok {
				cost += int64(len(s))
			}
		}
	}
	sort.Slice(sc, func(i, j int) bool { return sc[i].k < sc[j].k })
	return prepared{scalars: sc, cost: cost}, nil
}

// Upsert is all or nothing: a bad point, a payload past its bound or a
// batch that would pass a bound of the index changes nothing.
func (x *Index) Upsert(_ context.Context, name string, points []store.Point) error {
	recs := make([]Record, len(points))
	preps := make([]prepared, len(points))
	// the batch's vectors are copied into one allocation, not one per point
	total := 0
	for _, p := range points {
		total += len(p.Vector)
	}
	slab := make([]float32, 0, total)
	for i, p := range points {
		payload, err := store.EncodePayload(p.Payload, x.lim.MaxPayloadBytes, x.lim.MaxPayloadDepth)
		if err != nil {
			return fmt.Errorf("point %d (id %s): %w", i, p.ID, err)
		}
		at := len(slab)
		slab = append(slab, p.Vector...)
		recs[i] = Record{ID: p.ID, Vector: slab[at:len(slab):len(slab)], Payload: payload}
		if preps[i], err = prepare(recs[i]); err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
	}
	commit, err := func() (func() error, error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		c, ok := x.cols[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
		}
		// the last write of an id in a batch wins: count each id once
		last := make(map[store.ID]int, len(recs))
		for i, r := range recs {
			if err := store.CheckVector(r.Vector, c.size, c.dist); err != nil {
				return nil, fmt.Errorf("%w: point %d (id %s): %v", store.ErrInvalid, i, r.ID, err)
			}
			last[r.ID] = i
		}
		added, delta := 0, int64(0)
		for id, i := range last {
			delta += preps[i].cost + c.nodeCost()
			if at, exists := c.pos[id]; exists {
				delta -= c.cost[at]
			} else {
				added++
			}
		}
		if x.points+added > x.lim.MaxPoints {
			return nil, fmt.Errorf("%w: %d points held, %d new would pass the bound of %d (VECTOR_MEMORY_MAX_POINTS)",
				store.ErrFull, x.points, added, x.lim.MaxPoints)
		}
		if delta > 0 && x.bytes+delta > x.lim.MaxBytes {
			return nil, fmt.Errorf("%w: %d bytes held, this batch adds %d and would pass the bound of %d (VECTOR_MEMORY_MAX_BYTES)",
				store.ErrFull, x.bytes, delta, x.lim.MaxBytes)
		}
		return x.write(&Op{Kind: OpUpsert, Collection: name, Points: recs}, preps)
	}()
	if err != nil {
		return err
	}
	return commit()
}

// DeletePoints removes the points with these ids; absent ids are skipped.
func (x *Index) DeletePoints(_ context.Context, name string, ids []store.ID) (int, error) {
	n := 0
	commit, err := func() (func() error, error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		c, ok := x.cols[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
		}
		var present []store.ID
		seen := map[store.ID]bool{}
		for _, id := range ids {
			if _, ok := c.pos[id]; ok && !seen[id] {
				present = append(present, id)
				seen[id] = true
			}
		}
		n = len(present)
		if n == 0 {
			return func() error { return nil }, nil
		}
		return x.write(&Op{Kind: OpDelete, Collection: name, IDs: present}, nil)
	}()
	if err != nil {
		return 0, err
	}
	return n, commit()
}

// Apply applies a change read back from a journal, without the bounds (a
// bound lowered since the change was acknowledged must not lose it).
func (x *Index) Apply(op *Op) error {
	var preps []prepared
	if op.Kind == OpUpsert {
		preps = make([]prepared, len(op.Points))
		for i, r := range op.Points {
			p, err := prepare(r)
			if err != nil {
				return err
			}
			preps[i] = p
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.apply(op, preps)
}

func (x *Index) apply(op *Op, preps []prepared) error {
	defer func() { x.stats.Store(&Stats{Collections: len(x.cols), Points: x.points, Bytes: x.bytes}) }()
	switch op.Kind {
	case OpCreate:
		if _, ok := x.cols[op.Collection]; ok {
			return fmt.Errorf("create %s: exists", op.Collection)
		}
		if op.Size < 1 || op.Size > store.MaxDimension {
			return fmt.Errorf("create %s: size %d", op.Collection, op.Size)
		}
		spec, err := op.Index.Normalize()
		if err != nil {
			return fmt.Errorf("create %s: %w", op.Collection, err)
		}
		c := &collection{size: op.Size, dist: op.Distance, pos: map[store.ID]int{}, spec: store.IndexSpec{Type: store.IndexFlat}}
		c.setIndex(spec)
		x.cols[op.Collection] = c
	case OpDrop:
		c, ok := x.cols[op.Collection]
		if !ok {
			return fmt.Errorf("drop %s: %w", op.Collection, store.ErrCollectionNotFound)
		}
		x.points -= len(c.ids)
		for _, b := range c.cost {
			x.bytes -= b
		}
		delete(x.cols, op.Collection)
	case OpUpsert:
		c, ok := x.cols[op.Collection]
		if !ok {
			return fmt.Errorf("upsert into %s: %w", op.Collection, store.ErrCollectionNotFound)
		}
		for _, r := range op.Points {
			if len(r.Vector) != c.size {
				return fmt.Errorf("upsert into %s: point %s has %d dimensions, want %d", op.Collection, r.ID, len(r.Vector), c.size)
			}
		}
		c.grow(len(op.Points))
		for i, r := range op.Points {
			c.put(r, preps[i], x)
		}
	case OpDelete:
		c, ok := x.cols[op.Collection]
		if !ok {
			return fmt.Errorf("delete from %s: %w", op.Collection, store.ErrCollectionNotFound)
		}
		for _, id := range op.IDs {
			c.remove(id, x)
		}
	default:
		return fmt.Errorf("unknown change kind %d", op.Kind)
	}
	return nil
}

// grow makes room for n more points in one step per slice, so a batch
// appends without a growslice per point (and a reload pre-sized by Reserve
// without any).
func (c *collection) grow(n int) {
	c.vecs = slices.Grow(c.vecs, n*c.size)
	c.norms = slices.Grow(c.norms, n)
	c.ids = slices.Grow(c.ids, n)
	c.payloads = slices.Grow(c.payloads, n)
	c.scalars = slices.Grow(c.scalars, n)
	c.cost = slices.Grow(c.cost, n)
	if c.g == nil {
		c.codes = slices.Grow(c.codes, n*c.size)
		c.scales = slices.Grow(c.scales, n)
	} else {
		c.slots = slices.Grow(c.slots, n)
		g := c.g
		g.pos, g.level = slices.Grow(g.pos, n), slices.Grow(g.level, n)
		g.links0 = slices.Grow(g.links0, n*(g.m0+1))
	}
}

// Reserve sizes collection name for n points in all, so that loading n
// points copies nothing (a reload knows the count from its snapshot). An
// unknown collection or n not above what is held is ignored.
func (x *Index) Reserve(name string, n int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.cols[name]
	if !ok || n <= len(c.ids) {
		return
	}
	c.grow(n - len(c.ids))
	if len(c.pos) == 0 {
		c.pos = make(map[store.ID]int, n)
	}
}

func (c *collection) put(r Record, p prepared, x *Index) {
	p.cost += c.nodeCost()
	if i, ok := c.pos[r.ID]; ok {
		if c.g != nil {
			// the old node keeps routing until a rebuild (with codes of
			// the old vector); a new one links the new vector
			c.kill(uint32(c.slots[i]))
		}
		copy(c.vecs[i*c.size:(i+1)*c.size], r.Vector)
		c.norms[i] = norm(r.Vector)
		if c.g != nil {
			c.slots[i] = int32(c.addNode(r.Vector, c.norms[i], i))
			c.maybeRebuild()
		} else {
			c.scales[i] = quantize(r.Vector, c.codes[i*c.size:(i+1)*c.size])
		}
		c.payloads[i], c.scalars[i] = r.Payload, p.scalars
		x.bytes += p.cost - c.cost[i]
		c.cost[i] = p.cost
		return
	}
	c.pos[r.ID] = len(c.ids)
	c.vecs = append(c.vecs, r.Vector...)
	c.norms = append(c.norms, norm(r.Vector))
	c.ids = append(c.ids, r.ID)
	c.payloads = append(c.payloads, r.Payload)
	c.scalars = append(c.scalars, p.scalars)
	c.cost = append(c.cost, p.cost)
	if c.g != nil {
		c.slots = append(c.slots, int32(c.addNode(r.Vector, c.norms[len(c.norms)-1], len(c.ids)-1)))
	} else {
		at := len(c.codes)
		c.codes = append(c.codes, make([]int8, c.size)...)
		c.scales = append(c.scales, quantize(r.Vector, c.codes[at:]))
	}
	x.points++
	x.bytes += p.cost
}

// remove moves the last point into the hole, so storage stays contiguous.
func (c *collection) remove(id store.ID, x *Index) {
	i, ok := c.pos[id]
	if !ok {
		return
	}
	last := len(c.ids) - 1
	x.points--
	x.bytes -= c.cost[i]
	if c.g != nil {
		c.kill(uint32(c.slots[i]))
		if i != last {
			c.slots[i] = c.slots[last]
			c.g.pos[c.slots[i]] = int32(i)
		}
		c.slots = c.slots[:last]
	}
	if i != last {
		copy(c.vecs[i*c.size:(i+1)*c.size], c.vecs[last*c.size:])
		if c.g == nil {
			copy(c.codes[i*c.size:(i+1)*c.size], c.codes[last*c.size:])
			c.scales[i] = c.scales[last]
		}
		c.norms[i], c.ids[i], c.payloads[i], c.scalars[i], c.cost[i] =
			c.norms[last], c.ids[last], c.payloads[last], c.scalars[last], c.cost[last]
		c.pos[c.ids[i]] = i
	}
	delete(c.pos, id)
	c.vecs = c.vecs[:last*c.size]
	if c.g == nil {
		c.codes, c.scales = c.codes[:last*c.size], c.scales[:last]
	}
	c.norms, c.ids, c.payloads, c.scalars, c.cost =
		c.norms[:last], c.ids[:last], c.payloads[:last], c.scalars[:last], c.cost[:last]
	clear(c.payloads[last:cap(c.payloads)][:1])
	clear(c.scalars[last:cap(c.scalars)][:1])
	// give memory back once most of it is unused
	if cap(c.ids) > 1024 && len(c.ids) < cap(c.ids)/4 {
		c.vecs, c.norms, c.ids = slices.Clip(slices.Clone(c.vecs)), slices.Clone(c.norms), slices.Clone(c.ids)
		c.payloads, c.scalars, c.cost = slices.Clone(c.payloads), slices.Clone(c.scalars), slices.Clone(c.cost)
		if c.g == nil {
			c.codes, c.scales = slices.Clip(slices.Clone(c.codes)), slices.Clone(c.scales)
		}
	}
	if c.g != nil {
		c.maybeRebuild()
	}
}

// maybeRebuild rebuilds the graph once dead nodes pass half the live ones
// (and 1000): they cost memory and crowd the candidates of searches. The
// rebuild runs under the write lock; its cost is O(1) inserts per delete
// or replacement, amortized.
func (c *collection) maybeRebuild() {
	if c.g.dead > max(1000, len(c.ids)/2) {
		c.rebuildGraph()
	}
}

// Dump emits the index as changes that rebuild it: each collection's
// create, then its points in upserts of at most batch points. begin runs
// first, under the same read lock, so a caller can note the state that the
// dump is of. The records point into the index: emit must not keep them.
func (x *Index) Dump(batch int, begin func(Stats), emit func(*Op) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	begin(Stats{Collections: len(x.cols), Points: x.points, Bytes: x.bytes})
	names := make([]string, 0, len(x.cols))
	for n := range x.cols {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := x.cols[n]
		if err := emit(&Op{Kind: OpCreate, Collection: n, Size: c.size, Distance: c.dist, Index: c.spec}); err != nil {
			return err
		}
		recs := make([]Record, 0, min(batch, len(c.ids)))
		for i := 0; i < len(c.ids); i += batch {
			recs = recs[:0]
			for j := i; j < min(i+batch, len(c.ids)); j++ {
				recs = append(recs, Record{ID: c.ids[j], Vector: c.vecs[j*c.size : (j+1)*c.size : (j+1)*c.size], Payload: c.payloads[j]})
			}
			if err := emit(&Op{Kind: OpUpsert, Collection: n, Points: recs}); err != nil {
				return err
			}
		}
	}
	return nil
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// dot sums in float64 like the reference does, in eight independent
// accumulators so that the additions do not wait on each other.
func dot(q []float64, v []float32) float64 {
	v = v[:len(q)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	i := 0
	for ; i+8 <= len(q); i += 8 {
		a, b := q[i:i+8:i+8], v[i:i+8:i+8]
		s0 += a[0] * float64(b[0])
		s1 += a[1] * float64(b[1])
		s2 += a[2] * float64(b[2])
		s3 += a[3] * float64(b[3])
		s4 += a[4] * float64(b[4])
		s5 += a[5] * float64(b[5])
		s6 += a[6] * float64(b[6])
		s7 += a[7] * float64(b[7])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * float64(v[i])
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

func euclid(q []float64, v []float32) float64 {
	v = v[:len(q)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(q); i += 4 {
		a, b := q[i:i+4:i+4], v[i:i+4:i+4]
		d0, d1, d2, d3 := a[0]-float64(b[0]), a[1]-float64(b[1]), a[2]-float64(b[2]), a[3]-float64(b[3])
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(q); i++ {
		d := q[i] - float64(v[i])
		s0 += d * d
	}
	return math.Sqrt((s0 + s1) + (s2 + s3))
}

func match(f store.Filter, sc []kv) bool {
	for k, want := range f {
		i := sort.Search(len(sc), func(i int) bool { return sc[i].k >= k })
		if i == len(sc) || sc[i].k != k || sc[i].v != want {
			return false
		}
	}
	return true
}

// Search returns the best limit points that pass the filter, nearest
// first; ties go to the smaller id. It is exact: the scan reads the int8
// codes, which bound every point's score within an interval (quant.go);
// every point whose interval reaches the limit-th best lower bound is
// rescored from its float32 vector, and only those. A point of the true top
// limit always qualifies (its score is at least the limit-th best score,
// which is at least the limit-th best lower bound), so the hits and scores
// are those of a float64 scan of every vector.
func (x *Index) Search(ctx context.Context, name string, q []float32, limit int, f store.Filter) ([]store.Hit, error) {
	return x.SearchWith(ctx, name, q, limit, f, store.SearchParams{})
}

// SearchWith is Search with parameters. An HNSW collection answers from
// its graph (the best limit of the ef candidates found, rescored exactly)
// unless p.Exact is set, the collection holds no more than 2*ef points, or
// the graph finds fewer than limit live points passing the filter: then
// the exact scan answers.
func (x *Index) SearchWith(_ context.Context, name string, q []float32, limit int, f store.Filter, p store.SearchParams) ([]store.Hit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	if err := store.CheckVector(q, c.size, c.dist); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if limit <= 0 {
		return []store.Hit{}, nil
	}
	s := c.newSearch(q, limit)
	ef := p.Ef
	if ef <= 0 {
		ef = store.DefaultHNSWEf
	}
	if c.g != nil && !p.Exact && len(c.ids) > 2*max(ef, limit) {
		hits, ok, err := c.graphSearch(s, f, min(ef, store.MaxHNSWEf))
		if ok || err != nil {
			return hits, err
		}
	}
	cands := c.candidates(s, f)
	return c.rescore(s, cands)
}

// search is one query's state.
type search struct {
	q     []float32
	qd    []float64
	qn    float64
	qq    query
	limit int
}

func (c *collection) newSearch(q []float32, limit int) *search {
	s := &search{q: q, qd: make([]float64, len(q)), qn: norm(q), qq: quantizeQuery(q), limit: limit}
	for i, v := range q {
		s.qd[i] = float64(v)
	}
	return s
}

// bounds returns an interval holding the score the exact search computes
// for point i, in "higher is nearer" form (Euclidean distances negated).
// Dividing by |q|*|x| and taking square roots are monotone in floating
// point too, so the interval holds after rounding.
func (c *collection) bounds(s *search, i, n int) (lo, hi float64) {
	d := c.size
	xn := c.norms[i]
	est, b := s.qq.approxDot(c.codes[n*d:(n+1)*d:(n+1)*d], c.scales[n], xn, s.qn)
	switch c.dist {
	case store.Cosine:
		return (est - b) / (s.qn * xn), (est + b) / (s.qn * xn)
	case store.Euclid:
		sq := s.qn*s.qn + xn*xn
		m := 1e-9 * sq // the float64 sum of squares against this formula
		return -math.Sqrt(max(0, sq-2*(est-b)+m)), -math.Sqrt(max(0, sq-2*(est+b)-m))
	}
	return est - b, est + b
}

type cand struct {
	i  int
	hi float64
}

// candidates scans the codes of the points that pass f and returns those
// that may be among the best limit.
func (c *collection) candidates(s *search, f store.Filter) []cand {
	var cands []cand
	if c.g != nil { // no int8 copy: every point that passes is rescored
		for i := range c.ids {
			if len(f) == 0 || match(f, c.scalars[i]) {
				cands = append(cands, cand{i: i})
			}
		}
		return cands
	}
	// lows keeps the best limit lower bounds, worst at the root: once full,
	// its root is a floor under the limit-th best score
	lows := make([]float64, 0, s.limit)
	floor := math.Inf(-1)
	pruneAt := max(1024, 4*s.limit)
	for i := range c.ids {
		if len(f) > 0 && !match(f, c.scalars[i]) {
			continue
		}
		lo, hi := c.bounds(s, i, i)
		if hi < floor {
			continue
		}
		cands = append(cands, cand{i, hi})
		if len(lows) < s.limit {
			lows = append(lows, lo)
			floatUp(lows, len(lows)-1)
		} else if lo > lows[0] {
			lows[0] = lo
			floatDown(lows, 0)
		}
		if len(lows) == s.limit {
			floor = lows[0]
		}
		if len(cands) >= pruneAt {
			cands = prune(cands, floor)
			pruneAt = max(pruneAt, 2*len(cands))
		}
	}
	return prune(cands, floor)
}

func prune(cands []cand, floor float64) []cand {
	out := cands[:0]
	for _, k := range cands {
		if k.hi >= floor {
			out = append(out, k)
		}
	}
	return out
}

// floatUp and floatDown keep a min-heap of float64s.
func floatUp(h []float64, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func floatDown(h []float64, i int) {
	for {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l] < h[m] {
			m = l
		}
		if r < len(h) && h[r] < h[m] {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// exact is the score of point i that search results carry, in float64 from
// the float32 vector.
func (c *collection) exact(s *search, i int) float64 {
	v := c.vecs[i*c.size : (i+1)*c.size : (i+1)*c.size]
	switch c.dist {
	case store.Cosine:
		return dot(s.qd, v) / (s.qn * c.norms[i])
	case store.Dot:
		return dot(s.qd, v)
	}
	return euclid(s.qd, v)
}

// rescore scores the candidates exactly and returns the best limit as hits.
func (c *collection) rescore(s *search, cands []cand) ([]store.Hit, error) {
	lowerIsBetter := c.dist == store.Euclid
	better := func(a, b scored) bool {
		if a.score != b.score {
			return (a.score < b.score) == lowerIsBetter
		}
		return cmpID(c.ids[a.i], c.ids[b.i]) < 0
	}
	// top keeps the best limit hits in a heap whose root is the worst of them
	top := make([]scored, 0, min(s.limit, len(cands)))
	for _, k := range cands {
		h := scored{k.i, c.exact(s, k.i)}
		if len(top) < s.limit {
			top = append(top, h)
			siftUp(top, len(top)-1, better)
		} else if better(h, top[0]) {
			top[0] = h
			siftDown(top, 0, better)
		}
	}
	slices.SortFunc(top, func(a, b scored) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	out := make([]store.Hit, len(top))
	for i, h := range top {
		p, err := decodePayload(c.payloads[h.i])
		if err != nil {
			return nil, err
		}
		out[i] = store.Hit{ID: c.ids[h.i], Score: float32(h.score), Payload: p}
	}
	return out, nil
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

type scored struct {
	i     int
	score float64
}

// The heap keeps the worst hit at index 0: a parent is never better than
// its children.
func siftUp(h []scored, i int, better func(a, b scored) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []scored, i int, better func(a, b scored) bool) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
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
	i, ok := c.pos[id]
	if !ok {
		return store.Point{}, fmt.Errorf("%w: %s in %s", store.ErrPointNotFound, id, name)
	}
	p, err := decodePayload(c.payloads[i])
	if err != nil {
		return store.Point{}, err
	}
	return store.Point{ID: id, Vector: slices.Clone(c.vecs[i*c.size : (i+1)*c.size]), Payload: p}, nil
}

// Ping always succeeds: the index is in the process.
func (x *Index) Ping(context.Context) error { return nil }

// Close drops nothing; the index lives as long as the process.
func (x *Index) Close() error { return nil }

var _ store.Store = (*Index)(nil)
