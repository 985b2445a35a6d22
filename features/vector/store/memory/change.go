package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// The write path. One owner checks a change: the index, against its state
// and bounds (Plan*, or the methods of store.Store below, which check and
// apply under one lock). store/durable wraps the index: under its own write
// lock it asks for a plan, logs plan.Op, and commits the plan; the index
// never calls back into it.

// Kind is the kind of a change.
type Kind uint8

// The changes the index knows.
const (
	OpCreate Kind = iota + 1 // Collection, Size, Distance
	OpDrop                   // Collection
	OpUpsert                 // Collection, Points
	OpDelete                 // Collection, IDs
)

// Op is one change, as store/durable's log records it and replay applies it.
type Op struct {
	Kind       Kind
	Collection string
	Size       int
	Distance   store.Distance
	// Index of an OpCreate (the zero value is flat). The durable store
	// keeps it beside its log, whose record format predates it, and in
	// its snapshots.
	Index store.IndexSpec
	// Deferred marks an OpCreate read back from a snapshot whose index is
	// given once its points are in (SetIndex, or AttachGraphs with a
	// saved graph): until then its points get neither int8 codes nor graph
	// nodes, which an HNSW collection would drop again (at a million
	// points of dimension 384 the codes were 384 MB and 1.7 s of a
	// reopen's CPU). Not logged: a reload's own.
	Deferred bool
	Points   []Record
	IDs      []store.ID
}

// Record is one point as the index keeps it: the payload as canonical JSON
// (nil when empty).
type Record struct {
	ID      store.ID
	Vector  []float32
	Payload []byte
}

// Batch is an upsert's points made ready for the index without any lock:
// payloads encoded (once), what filters read decoded, bytes counted. The
// vectors are the caller's, read until the write returns (the index copies
// them into its storage, a log encodes them): copying them here first cost
// a burst of upserts a fifth of its time, most of it faulting in fresh
// memory for copies that lived one call.
type Batch struct {
	recs  []Record
	preps []prepared
}

// Change is a change the index has checked and not yet applied: Op is what a
// log records. It applies only to the state it was checked against
// (Commit).
type Change struct {
	Op      Op
	preps   []prepared
	version uint64
}

// prepared is a record with what the index derives from it.
type prepared struct {
	scalars []kv
	cost    int64
}

// Prepare encodes the payloads within the bounds (store.EncodePayload) and
// makes the batch ready for PlanUpsert.
func (x *Index) Prepare(points []store.Point) (*Batch, error) {
	enc := make([]store.Encoded, len(points))
	for i, p := range points {
		payload, err := store.EncodePayload(p.Payload, x.lim.MaxPayloadBytes, x.lim.MaxPayloadDepth)
		if err != nil {
			return nil, fmt.Errorf("point %d (id %s): %w", i, p.ID, err)
		}
		enc[i] = store.Encoded{ID: p.ID, Vector: p.Vector, Payload: payload}
	}
	return x.PrepareEncoded(enc)
}

// PrepareEncoded is Prepare for points whose payloads the caller encoded
// with store.EncodePayload under the index's bounds.
func (x *Index) PrepareEncoded(points []store.Encoded) (*Batch, error) {
	b := &Batch{recs: make([]Record, len(points)), preps: make([]prepared, len(points))}
	for i, p := range points {
		b.recs[i] = Record{ID: p.ID, Vector: p.Vector[:len(p.Vector):len(p.Vector)], Payload: p.Payload}
		var err error
		if b.preps[i], err = prepare(b.recs[i]); err != nil {
			return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
	}
	return b, nil
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

// PlanCreate checks a create (nil, nil when an identical collection exists:
// nothing to write).
func (x *Index) PlanCreate(name string, size int, d store.Distance, spec store.IndexSpec) (*Change, error) {
	x.lockPlan()
	defer x.mu.RUnlock()
	return x.checkCreate(name, size, d, spec)
}

// PlanDrop checks the drop of a collection.
func (x *Index) PlanDrop(name string) (*Change, error) {
	x.lockPlan()
	defer x.mu.RUnlock()
	return x.checkDrop(name)
}

// PlanUpsert checks a prepared batch against the collection and the bounds.
func (x *Index) PlanUpsert(name string, b *Batch) (*Change, error) {
	x.lockPlan()
	defer x.mu.RUnlock()
	return x.checkUpsert(name, b)
}

// PlanDeletePoints checks a delete; the change removes the ids that are
// there (nil, nil when none is: nothing to write).
func (x *Index) PlanDeletePoints(name string, ids []store.ID) (*Change, error) {
	x.lockPlan()
	defer x.mu.RUnlock()
	return x.checkDeletePoints(name, ids)
}

// Commit applies a planned change. The caller keeps other writes out
// between the plan and the commit (store/durable holds its write lock); a
// change planned against a state the index has left is a bug and panics,
// since a log may already hold it.
func (x *Index) Commit(ch *Change) {
	x.lockWrite() // ahead of the linker (linker.go)
	defer x.mu.Unlock()
	x.applyChecked(ch)
}

// applyChecked applies ch; the caller holds the write lock.
func (x *Index) applyChecked(ch *Change) {
	if ch.version != x.version {
		panic(fmt.Sprintf("vector index: change planned at version %d committed at %d", ch.version, x.version))
	}
	if err := x.apply(&ch.Op, ch.preps, true); err != nil {
		// checked above: an error here is a bug
		panic(fmt.Sprintf("vector index: apply after validation: %v", err))
	}
}

// The checks run under the lock (read or write) and return a change
// stamped with the version they saw.

func (x *Index) checkCreate(name string, size int, d store.Distance, spec store.IndexSpec) (*Change, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if c, ok := x.cols[name]; ok {
		if c.size != size || c.dist != d || c.spec != spec {
			return nil, fmt.Errorf("%w: %s has size %d, distance %s, index %s", store.ErrCollectionConflict, name, c.size, c.dist, specString(c.spec))
		}
		return nil, nil
	}
	if size < 1 || size > store.MaxDimension {
		return nil, fmt.Errorf("%w: size %d: want 1 to %d", store.ErrInvalid, size, store.MaxDimension)
	}
	if len(x.cols) >= x.lim.MaxCollections {
		return nil, fmt.Errorf("%w: %d collections (VECTOR_MEMORY_MAX_COLLECTIONS)", store.ErrFull, x.lim.MaxCollections)
	}
	return &Change{Op: Op{Kind: OpCreate, Collection: name, Size: size, Distance: d, Index: spec}, version: x.version}, nil
}

func (x *Index) checkDrop(name string) (*Change, error) {
	if _, ok := x.cols[name]; !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	return &Change{Op: Op{Kind: OpDrop, Collection: name}, version: x.version}, nil
}

func (x *Index) checkUpsert(name string, b *Batch) (*Change, error) {
	c, ok := x.cols[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
	}
	// the last write of an id in a batch wins: count each id once
	last := make(map[store.ID]int, len(b.recs))
	for i, r := range b.recs {
		// the route checked the vectors against the collection's Info; this
		// is the check under the lock (the collection may have been dropped
		// and made again with another size since)
		if err := store.CheckVector(r.Vector, c.size, c.dist); err != nil {
			return nil, fmt.Errorf("%w: point %d (id %s): %v", store.ErrInvalid, i, r.ID, err)
		}
		last[r.ID] = i
	}
	added, delta := 0, int64(0)
	for id, i := range last {
		delta += b.preps[i].cost + c.nodeCost()
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
	return &Change{Op: Op{Kind: OpUpsert, Collection: name, Points: b.recs}, preps: b.preps, version: x.version}, nil
}

func (x *Index) checkDeletePoints(name string, ids []store.ID) (*Change, error) {
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
	if len(present) == 0 {
		return nil, nil
	}
	return &Change{Op: Op{Kind: OpDelete, Collection: name, IDs: present}, version: x.version}, nil
}

// The store.Store writes of an index on its own: check and apply under one
// lock.

// Create makes a flat collection.
func (x *Index) Create(ctx context.Context, name string, size int, d store.Distance) (bool, error) {
	return x.CreateIndexed(ctx, name, size, d, store.IndexSpec{})
}

// CreateIndexed makes a collection with the index spec chooses (flat when
// empty); an existing one must have the same parameters.
func (x *Index) CreateIndexed(_ context.Context, name string, size int, d store.Distance, spec store.IndexSpec) (bool, error) {
	x.lockWrite()
	defer x.mu.Unlock()
	ch, err := x.checkCreate(name, size, d, spec)
	if err != nil || ch == nil {
		return false, err
	}
	x.applyChecked(ch)
	return true, nil
}

func (x *Index) Delete(_ context.Context, name string) error {
	x.lockWrite()
	defer x.mu.Unlock()
	ch, err := x.checkDrop(name)
	if err != nil {
		return err
	}
	x.applyChecked(ch)
	return nil
}

// Upsert is all or nothing: a bad point, a payload past its bound or a
// batch that would pass a bound of the index changes nothing.
func (x *Index) Upsert(_ context.Context, name string, points []store.Point) error {
	b, err := x.Prepare(points)
	if err != nil {
		return err
	}
	return x.upsert(name, b)
}

// UpsertEncoded is Upsert for points whose payloads the caller checked and
// encoded (store.EncodedWriter).
func (x *Index) UpsertEncoded(_ context.Context, name string, points []store.Encoded) error {
	b, err := x.PrepareEncoded(points)
	if err != nil {
		return err
	}
	return x.upsert(name, b)
}

func (x *Index) upsert(name string, b *Batch) error {
	x.lockWrite() // ahead of the linker (linker.go)
	defer x.mu.Unlock()
	ch, err := x.checkUpsert(name, b)
	if err != nil {
		return err
	}
	x.applyChecked(ch)
	return nil
}

// DeletePoints removes the points with these ids; absent ids are skipped.
func (x *Index) DeletePoints(_ context.Context, name string, ids []store.ID) (int, error) {
	x.lockWrite()
	defer x.mu.Unlock()
	ch, err := x.checkDeletePoints(name, ids)
	if err != nil || ch == nil {
		return 0, err
	}
	x.applyChecked(ch)
	return len(ch.Op.IDs), nil
}

// Apply applies a change read back from a log (reload, salvage) without
// the bounds (a bound lowered since the change was acknowledged must not
// lose it).
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
	x.lockWrite()
	defer x.mu.Unlock()
	return x.apply(op, preps, false)
}

// apply applies op; bounded (a new change, not one replayed) links what
// an upsert would leave past the bound of unlinked points (linker.go).
func (x *Index) apply(op *Op, preps []prepared, bounded bool) error {
	defer func() {
		x.version++
		x.stats.Store(&Stats{Collections: len(x.cols), Points: x.points, Bytes: x.bytes})
		if c, ok := x.cols[op.Collection]; ok {
			x.queue(c) // nodes made, or a graph rebuilt: the linker's work
		}
	}()
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
		c := &collection{size: op.Size, dist: op.Distance, vecs: newVectors(op.Size), pos: map[store.ID]int{}, spec: store.IndexSpec{Type: store.IndexFlat}, deferred: op.Deferred}
		if !op.Deferred {
			c.setIndex(spec)
		}
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
		delete(x.lk.work, c)
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
		before := 0
		if c.g != nil {
			before = c.g.nwait
		}
		c.grow(len(op.Points))
		for i, r := range op.Points {
			c.put(r, preps[i], x)
		}
		if c.g != nil {
			// the batch's nodes are left to the linker, unless they pass
			// the bound: then the oldest are linked now, in parallel when
			// there are enough (link.go)
			if bounded {
				x.bound(c, before)
			}
			c.maybeRebuild()
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
