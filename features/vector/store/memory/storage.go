package memory

import (
	"fmt"
	"slices"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// nodeCost is what a point costs in the graph of an HNSW collection
// besides its vector: its layer-0 links, node and position maps, level.
func (c *collection) nodeCost() int64 {
	if c.g == nil {
		return 0
	}
	return int64(4*(c.g.m0+1) + 4 + 4 + 1)
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
	if c.spec == spec && !c.deferred {
		return false, nil
	}
	c.setIndex(spec)
	x.queue(c)  // the graph's nodes wait for the linker (linker.go)
	x.version++ // a plan counted bytes against the old index
	return spec.Type == store.IndexHNSW, nil
}

// Deferred lists the collections still without their index (Op.Deferred):
// none once a reload is done.
func (x *Index) Deferred() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for name, c := range x.cols {
		if c.deferred {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (c *collection) setIndex(spec store.IndexSpec) {
	if c.deferred {
		c.deferred = false
		if spec.Type != store.IndexHNSW {
			c.quantizeAll()
		}
	}
	if spec == c.spec {
		return
	}
	if c.g != nil { // back to flat: codes by position
		c.g, c.slots = nil, nil
		c.quantizeAll()
	}
	c.spec = spec
	if spec.Type == store.IndexHNSW {
		c.g = newGraph(spec)
		c.rebuildGraph()
	}
}

// growCap returns s with room for n more elements, grown by at least a
// quarter, as append grows. Not slices.Grow: its append(s, make(n)...)
// clears the whole new capacity in one memclr the scheduler cannot
// preempt; at a reload's sizes (hundreds of MB, each page's first touch a
// fault, slow on the build machine's VM) the garbage collector spun
// signalling it meanwhile, and a reopen profile at 100k had 43% of its
// samples in that clear and 30% in the spinning. make clears a large
// object in preemptible chunks, and fresh memory from the OS not at all,
// so the pages are first touched by the copy of the points.
func growCap[T any](s []T, n int) []T {
	if n <= cap(s)-len(s) {
		return s
	}
	out := make([]T, len(s), max(len(s)+n, cap(s)+cap(s)/4))
	adviseHuge(out)
	copy(out, s)
	return out
}

// grow makes room for n more points in one step per slice, so a batch
// appends without a growslice per point (and a reload pre-sized by Reserve
// without any).
func (c *collection) grow(n int) {
	c.vecs.grow(n)
	c.norms = growCap(c.norms, n)
	c.ids = growCap(c.ids, n)
	c.payloads = growCap(c.payloads, n)
	c.scalars = growCap(c.scalars, n)
	c.cost = growCap(c.cost, n)
	if c.coded() {
		c.codes = growCap(c.codes, n*c.size)
		c.scales = growCap(c.scales, n)
	}
	if c.g != nil {
		c.slots = growCap(c.slots, n)
		g := c.g
		g.pos, g.level = growCap(g.pos, n), growCap(g.level, n)
		g.links0 = growCap(g.links0, n*(g.m0+1))
	}
}

// Reserve sizes collection name for n points in all, so that loading n
// points copies nothing (a reload knows the count from its snapshot). An
// unknown collection or n not above what is held is ignored. n is a hint
// read from a file that may be damaged: it is capped by the index's own
// bounds (points, and the bytes their vectors take), so a wrong count can
// only mis-size, never reserve more than the index may hold.
func (x *Index) Reserve(name string, n int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.cols[name]
	if !ok {
		return
	}
	n = min(n, x.lim.MaxPoints)
	if c.size > 0 && x.lim.MaxBytes > 0 {
		n = min(n, int(min(x.lim.MaxBytes/int64(4*c.size), int64(x.lim.MaxPoints))))
	}
	if n <= len(c.ids) {
		return
	}
	c.grow(n - len(c.ids))
	if len(c.pos) == 0 {
		c.pos = make(map[store.ID]int, n)
	}
}

// Spare returns the storage of collection name for the vectors past its
// last point and skip more, to the end of their block (the room Reserve or
// a batch's growth made; nil for an unknown collection or none left), so
// that a load can decode an upsert's vectors into place, asking again with
// skip the vectors it has decoded when a block's room runs out: put finds
// a vector already where it would copy it and copies nothing, which saves
// a copy and, at a reload's sizes, touching the decoded vectors' memory
// (each fresh page's first touch is a fault, slow on the build machine's
// VM). Only for a caller that is the index's one user, as a load is:
// nothing but put writes this room, under the write lock, and nothing
// reads it.
func (x *Index) Spare(name string, skip int) []float32 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.cols[name]
	if !ok {
		return nil
	}
	return c.vecs.room(skip)
}

// put stores one point of a batch; in an HNSW collection its node is made
// and left for the batch's linkPending.
func (c *collection) put(r Record, p prepared, x *Index) {
	p.cost += c.nodeCost()
	if i, ok := c.pos[r.ID]; ok {
		if c.g != nil {
			// the old node keeps routing until a rebuild (with codes of
			// the old vector); a new one links the new vector
			c.kill(uint32(c.slots[i]))
		}
		copy(c.vecs.at(i), r.Vector)
		c.norms[i] = norm(r.Vector)
		if c.g != nil {
			c.slots[i] = int32(c.newNode(i))
		} else if c.coded() {
			c.scales[i] = quantize(r.Vector, c.codes[i*c.size:(i+1)*c.size])
		}
		c.payloads[i], c.scalars[i] = r.Payload, p.scalars
		x.bytes += p.cost - c.cost[i]
		c.cost[i] = p.cost
		return
	}
	c.pos[r.ID] = len(c.ids)
	c.vecs.push(r.Vector) // decoded into place (Spare), or copied
	c.norms = append(c.norms, norm(r.Vector))
	c.ids = append(c.ids, r.ID)
	c.payloads = append(c.payloads, r.Payload)
	c.scalars = append(c.scalars, p.scalars)
	c.cost = append(c.cost, p.cost)
	if c.g != nil {
		c.slots = append(c.slots, int32(c.newNode(len(c.ids)-1)))
	} else if c.coded() {
		at := len(c.codes)
		c.codes = append(c.codes, make([]int8, c.size)...)
		c.scales = append(c.scales, quantize(r.Vector, c.codes[at:]))
	}
	x.points++
	x.bytes += p.cost
}

// remove moves the last point into the hole, so storage stays dense.
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
		copy(c.vecs.at(i), c.vecs.at(last))
		if c.coded() {
			copy(c.codes[i*c.size:(i+1)*c.size], c.codes[last*c.size:])
			c.scales[i] = c.scales[last]
		}
		c.norms[i], c.ids[i], c.payloads[i], c.scalars[i], c.cost[i] =
			c.norms[last], c.ids[last], c.payloads[last], c.scalars[last], c.cost[last]
		c.pos[c.ids[i]] = i
	}
	delete(c.pos, id)
	c.vecs.removeLast()
	if c.coded() {
		c.codes, c.scales = c.codes[:last*c.size], c.scales[:last]
	}
	c.norms, c.ids, c.payloads, c.scalars, c.cost =
		c.norms[:last], c.ids[:last], c.payloads[:last], c.scalars[:last], c.cost[:last]
	clear(c.payloads[last:cap(c.payloads)][:1])
	clear(c.scalars[last:cap(c.scalars)][:1])
	// give memory back once most of it is unused
	if cap(c.ids) > 1024 && len(c.ids) < cap(c.ids)/4 {
		c.norms, c.ids = slices.Clone(c.norms), slices.Clone(c.ids)
		c.payloads, c.scalars, c.cost = slices.Clone(c.payloads), slices.Clone(c.scalars), slices.Clone(c.cost)
		if c.coded() {
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
				recs = append(recs, Record{ID: c.ids[j], Vector: c.vecs.at(j), Payload: c.payloads[j]})
			}
			if err := emit(&Op{Kind: OpUpsert, Collection: n, Points: recs}); err != nil {
				return err
			}
		}
	}
	return nil
}
