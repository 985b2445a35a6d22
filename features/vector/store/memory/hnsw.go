package memory

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// An HNSW graph (Malkov and Yashunin, "Efficient and robust approximate
// nearest neighbor search using Hierarchical Navigable Small World graphs",
// 2016): layer 0 links every point to up to 2*m near points, each higher
// layer holds about 1/m of the layer below with up to m links. A search
// descends greedily from the top layer and keeps the ef best candidates on
// layer 0. Scores in the graph are float32 dot products (AVX2 with FMA
// where the CPU has them) of the live points' vectors; a dead node keeps
// int8 codes of its vector (quant.go), taken when it dies, to route with.
// Live points have no int8 copy in an HNSW collection (its exact scan, the
// fallback, reads the float32 vectors), which keeps the heap per point near
// 1.2 times the raw vector bytes. Walking the codes
// instead was tried: at 5,000 clustered points (noise 5% of the centre's
// scale) their rounding hides the differences between near neighbours and
// recall@10 fell to about 0.5. The search rescores what it found in
// float64, as the exact scan does.
//
// The graph's nodes are not the collection's positions (which a delete
// reshuffles, to keep storage dense): a node keeps its codes and links
// until the graph is rebuilt, positions map to nodes (collection.slots) and
// nodes back to positions (graph.pos, -1 once the point is deleted or
// replaced). Deleted nodes still route searches but are never returned;
// once they outnumber half the live points the graph is rebuilt.
type graph struct {
	spec    store.IndexSpec
	m0      int     // links per node on layer 0
	ml      float64 // level multiplier, 1/ln(m)
	rng     uint64
	level   []uint8
	links0  []uint32            // node*(m0+1): count, then the links
	upper   map[uint32][]uint32 // node -> layers 1..level, m+1 words each
	pos     []int32             // node -> position, -1 when dead
	ghosts  map[uint32]ghost    // dead nodes' vectors, as int8 codes
	entry   uint32
	top     int // top layer, -1 while empty
	dead    int
	scratch sync.Pool // *scratch
	// pending are nodes made (newNode) and not yet linked, oldest first:
	// the Index's linker links them in chunks in the background, an
	// upsert past the bound of unlinked points links some itself
	// (linker.go), in parallel when there are enough (link.go). A node
	// dead before it was linked stays in pending, skipped, until its turn.
	// waiting marks the live nodes of pending, nwait counts them; a search
	// scans them exactly (unlinkedCands), since no link leads to them.
	pending []uint32
	waiting []bool
	nwait   int
	// while nodes are linked in parallel: entryMu guards entry and top,
	// raising serialises the inserts that raise top, locks guard the link
	// lists (a stripe per node number); nil locks between batches
	entryMu, raising sync.Mutex
	locks            *[lockStripes]sync.Mutex
}

// ghost is what a dead node keeps of its vector.
type ghost struct {
	scale, norm float32
	codes       []int8
}

func newGraph(spec store.IndexSpec) *graph {
	return &graph{spec: spec, m0: 2 * spec.M, ml: 1 / math.Log(float64(spec.M)),
		rng: 0x9E3779B97F4A7C15, upper: map[uint32][]uint32{}, ghosts: map[uint32]ghost{}, top: -1}
}

// rand is splitmix64: levels are reproducible for a given insert order.
func (g *graph) rand() float64 {
	g.rng += 0x9E3779B97F4A7C15
	z := g.rng
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return (float64(z>>11) + 0.5) / (1 << 53)
}

func (g *graph) links(n uint32, l int) []uint32 {
	var w []uint32
	stride := g.m0 + 1
	if l == 0 {
		w = g.links0[int(n)*stride : (int(n)+1)*stride]
	} else {
		stride = g.spec.M + 1
		w = g.upper[n][(l-1)*stride : l*stride]
	}
	return w[1 : 1+w[0]]
}

func (g *graph) setLinks(n uint32, l int, to []uint32) {
	var w []uint32
	if l == 0 {
		w = g.links0[int(n)*(g.m0+1) : (int(n)+1)*(g.m0+1)]
	} else {
		s := g.spec.M + 1
		w = g.upper[n][(l-1)*s : l*s]
	}
	w[0] = uint32(copy(w[1:], to))
}

// probe is what a node's scores are computed against: a query, or a node
// of the graph while it is linked.
type probe struct {
	v  []float32
	qn float64
}

// sim is the score of node n for p, higher nearer (Euclidean distance
// negated and squared, which orders alike).
func (c *collection) sim(p *probe, n uint32) float64 {
	var est, xn float64
	if at := int(c.g.pos[n]); at >= 0 {
		est, xn = float64(dotF32(p.v, c.vecs.at(at))), c.norms[at]
	} else {
		gh := c.g.ghosts[n]
		est, xn = float64(gh.scale)*float64(dotF8(p.v, gh.codes)), float64(gh.norm)
	}
	switch c.dist {
	case store.Cosine:
		return est / (p.qn * xn)
	case store.Euclid:
		return 2*est - p.qn*p.qn - xn*xn
	}
	return est
}

// nodeProbe turns node n into a probe: its vector, or for a dead node its
// codes decoded into buf.
func (c *collection) nodeProbe(n uint32, buf []float32) probe {
	if at := int(c.g.pos[n]); at >= 0 {
		return probe{v: c.vecs.at(at), qn: c.norms[at]}
	}
	gh := c.g.ghosts[n]
	for i, x := range gh.codes {
		buf[i] = gh.scale * float32(x)
	}
	return probe{v: buf, qn: float64(gh.norm)}
}

// prefetchNode asks the CPU to bring node n's whole vector into its
// caches. Measured at 10,000 x 384 (BenchmarkHNSWInsert, CPU time): the
// whole vector 3.5-3.6 s, its first 512 bytes 4.2-4.8 s, 128 bytes
// 5.0 s, none 4.3-5.5 s; a dead node's codes are not prefetched.
func (c *collection) prefetchNode(n uint32) {
	if at := int(c.g.pos[n]); at >= 0 {
		prefetch(&c.vecs.at(at)[0], 4*c.size)
	}
}

type backLink struct{ l, k int }

type nodeSim struct {
	n   uint32
	sim float64
}

// scratch is the working memory of one search or insert, pooled so that
// neither allocates: a visited set stamped with a generation (cleared once
// in 2^32 uses), the heaps and buffers of searchLayer, selectNeighbors and
// link. An insert holds one for all its layers and links.
type scratch struct {
	marks           []uint32
	gen             uint32
	cand, res, eps  []nodeSim
	kept, all, keep []nodeSim
	fresh, ids, nb  []uint32
	extra, one      []uint32
	buf, buf2       []float32 // dead nodes' decoded vectors
	// lk is the graph's link locks while inserts run in parallel, nil
	// otherwise (a search runs under the index's read lock, with no
	// writer, and takes none); inflight the nodes being inserted beside
	// (link.go), slot this insert's own
	back    []backLink
	backIDs []uint32
	lk      *[lockStripes]sync.Mutex
	// yield, when set, is the count of changes waiting for the index's
	// lock: a linker's insert (linker.go) gives up while it is not 0
	yield    *atomic.Int32
	yielded  bool
	inflight []atomic.Uint32
	slot     int
}

func (g *graph) getScratch(dim int) *scratch {
	sc, _ := g.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if len(sc.marks) < len(g.pos) {
		sc.marks = make([]uint32, len(g.pos)+len(g.pos)/4)
		sc.gen = 0
	}
	if len(sc.buf) != dim {
		sc.buf, sc.buf2 = make([]float32, dim), make([]float32, dim)
	}
	sc.lk, sc.yield, sc.yielded = nil, nil, false
	return sc
}

// lock and unlock take node n's link lists while inserts run in parallel.
func (sc *scratch) lock(n uint32) {
	if sc.lk != nil {
		sc.lk[n%lockStripes].Lock()
	}
}

func (sc *scratch) unlock(n uint32) {
	if sc.lk != nil {
		sc.lk[n%lockStripes].Unlock()
	}
}

// visit starts a new visited set.
func (sc *scratch) visit() {
	sc.gen++
	if sc.gen == 0 {
		clear(sc.marks)
		sc.gen = 1
	}
}

// searchLayer is the beam search of one layer from eps: the ef best nodes
// it meets, best first, in sc.res (valid until the next searchLayer with
// sc; eps must not be sc.res).
func (c *collection) searchLayer(p *probe, sc *scratch, eps []nodeSim, ef, l int) []nodeSim {
	g := c.g
	sc.visit()
	marks, gen := sc.marks, sc.gen
	cand := sc.cand[:0] // max-heap: best first
	res := sc.res[:0]   // min-heap: worst first
	for _, e := range eps {
		if marks[e.n] == gen {
			continue
		}
		marks[e.n] = gen
		cand = pushMax(cand, e)
		res = pushMin(res, e)
		if len(res) > ef {
			res = popMin(res)
		}
	}
	for len(cand) > 0 {
		if sc.yield != nil && sc.yield.Load() > 0 {
			sc.yielded = true
			break
		}
		cur := cand[0]
		cand = popMax(cand)
		if len(res) >= ef && cur.sim < res[0].sim {
			break
		}
		// the unvisited neighbours first, their vectors prefetched, so
		// that their cache misses overlap instead of stalling each dot
		// product in turn (the graph's walk is memory-bound)
		fresh := sc.fresh[:0]
		sc.lock(cur.n)
		for _, nb := range g.links(cur.n, l) {
			if marks[nb] == gen {
				continue
			}
			marks[nb] = gen
			fresh = append(fresh, nb)
			c.prefetchNode(nb)
		}
		sc.unlock(cur.n)
		sc.fresh = fresh
		for _, nb := range fresh {
			s := c.sim(p, nb)
			if len(res) < ef || s > res[0].sim {
				cand = pushMax(cand, nodeSim{nb, s})
				res = pushMin(res, nodeSim{nb, s})
				if len(res) > ef {
					res = popMin(res)
				}
			}
		}
	}
	sc.cand, sc.res = cand, res
	slices.SortFunc(res, func(a, b nodeSim) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return int(a.n) - int(b.n)
	})
	return res
}

// descend walks greedily from entry (on layer top) down to layer `to`.
func (c *collection) descend(p *probe, sc *scratch, entry uint32, top, to int) nodeSim {
	g := c.g
	cur := nodeSim{entry, c.sim(p, entry)}
	for l := top; l > to; l-- {
		for moved := true; moved; {
			moved = false
			sc.lock(cur.n)
			sc.nb = append(sc.nb[:0], g.links(cur.n, l)...)
			sc.unlock(cur.n)
			for _, nb := range sc.nb {
				if s := c.sim(p, nb); s > cur.sim {
					cur, moved = nodeSim{nb, s}, true
				}
			}
		}
	}
	return cur
}

// selectNeighbors is the paper's heuristic (algorithm 4): take candidates
// best first, keeping one only if it is nearer to the probe than to every
// one kept, so links spread in all directions instead of into one cluster.
func (c *collection) selectNeighbors(cands []nodeSim, m int, buf []float32, kept []nodeSim) []nodeSim {
	kept = kept[:0]
	for _, k := range cands {
		if len(kept) >= m {
			break
		}
		good := true
		if len(kept) > 0 {
			pk := c.nodeProbe(k.n, buf)
			for _, r := range kept {
				if c.sim(&pk, r.n) > k.sim {
					good = false
					break
				}
			}
		}
		if good {
			kept = append(kept, k)
		}
	}
	return kept
}

// newNode makes a node for the point at position at, with its level and
// empty link lists, and returns it; the node is linked later (linkFirst).
// The first node of an empty graph needs no links: it becomes the entry.
func (c *collection) newNode(at int) uint32 {
	g := c.g
	n := uint32(len(g.pos))
	g.pos = append(g.pos, int32(at))
	lvl := min(int(-math.Log(g.rand())*g.ml), 16)
	g.level = append(g.level, uint8(lvl))
	g.links0 = append(g.links0, make([]uint32, g.m0+1)...)
	if lvl > 0 {
		g.upper[n] = make([]uint32, lvl*(g.spec.M+1))
	}
	if g.top < 0 {
		g.entry, g.top = n, lvl
		g.waiting = append(g.waiting, false)
		return n
	}
	g.pending = append(g.pending, n)
	g.waiting = append(g.waiting, true)
	g.nwait++
	return n
}

// insert links node n (made by newNode, live) into the graph: on each
// layer from its own down, the heuristic's choice of the ef_construction
// nearest found, then n's own links on every layer, then the back-links
// to n. The searches come first and write nothing (n's own links would
// serve no search yet: nothing leads to n), so with sc.yield set the
// insert can give up before any write: it then reports false, n is as
// newNode made it, and sc.yielded is set. With sc.lk set it runs beside
// other inserts (link.go): every link list it reads or writes is read or
// written under its lock, entry and top under entryMu.
func (c *collection) insert(n uint32, sc *scratch) bool {
	g := c.g
	lvl := int(g.level[n])
	at := int(g.pos[n])
	p := probe{v: c.vecs.at(at), qn: c.norms[at]}
	entry, top := g.entryPoint()
	if lvl > top && sc.lk != nil {
		// one insert at a time may raise the top: it becomes the entry
		// only once linked, and a second one must start from it
		g.raising.Lock()
		defer g.raising.Unlock()
		entry, top = g.entryPoint()
	}
	sc.eps = append(sc.eps[:0], c.descend(&p, sc, entry, top, lvl))
	for l := min(lvl, top); l >= 0; l-- {
		w := c.searchLayer(&p, sc, sc.eps, g.spec.EfConstruction, l)
		// beside other inserts n may already be reachable on this layer
		// (linked from below a layer where it was linked): never its own
		// neighbour
		w = slices.DeleteFunc(w, func(x nodeSim) bool { return x.n == n })
		if sc.yielded {
			sc.back, sc.backIDs = sc.back[:0], sc.backIDs[:0]
			return false
		}
		sc.keep = c.selectNeighbors(w, g.spec.M, sc.buf, sc.keep)
		ids := sc.ids[:0]
		for _, nb := range sc.keep {
			ids = append(ids, nb.n)
		}
		if sc.inflight != nil {
			ids = c.withInflight(&p, sc, ids, n, l)
		}
		sc.ids = ids
		sc.back = append(sc.back, backLink{l, len(ids)})
		sc.backIDs = append(sc.backIDs, ids...)
		sc.eps = append(sc.eps[:0], w...)
	}
	// the back-links last, once n's own lists are all made: until then
	// no search beside can reach n and find a layer still empty (on one
	// goroutine the order changes nothing, a layer's links serving only
	// that layer's search). Made as each layer was linked, they cost
	// parallel builds recall (link.go).
	off := 0
	for _, b := range sc.back {
		maxM := g.spec.M
		if b.l == 0 {
			maxM = g.m0
		}
		c.link(n, sc.backIDs[off:off+b.k], b.l, maxM, sc)
		off += b.k
	}
	sc.one = append(sc.one[:0], n)
	off = 0
	for _, b := range sc.back {
		maxM := g.spec.M
		if b.l == 0 {
			maxM = g.m0
		}
		for _, nb := range sc.backIDs[off : off+b.k] {
			c.link(nb, sc.one, b.l, maxM, sc)
		}
		off += b.k
	}
	sc.back, sc.backIDs = sc.back[:0], sc.backIDs[:0]
	if lvl > top {
		g.entryMu.Lock()
		g.entry, g.top = n, lvl
		g.entryMu.Unlock()
	}
	return true
}

func (g *graph) entryPoint() (uint32, int) {
	g.entryMu.Lock()
	defer g.entryMu.Unlock()
	return g.entry, g.top
}

// link adds links from a to the nodes of add on layer l (those it lacks),
// pruning a's links with the heuristic when they pass maxM. A new node's
// own list is set this way too: beside other inserts it may have gained
// links already, which are kept as candidates.
func (c *collection) link(a uint32, add []uint32, l, maxM int, sc *scratch) {
	g := c.g
	sc.lock(a)
	defer sc.unlock(a)
	cur := g.links(a, l)
	// the link list has room for m0 or m words after its count
	w := cur[:len(cur):maxM]
	extra := sc.extra[:0]
	for _, b := range add {
		if b == a || slices.Contains(w, b) {
			continue
		}
		if len(w) < maxM {
			w = append(w, b)
		} else {
			extra = append(extra, b)
		}
	}
	sc.extra = extra
	if len(extra) == 0 {
		g.setLinks(a, l, w)
		return
	}
	pa := c.nodeProbe(a, sc.buf)
	all := sc.all[:0]
	for _, x := range w {
		all = append(all, nodeSim{x, c.sim(&pa, x)})
	}
	for _, x := range extra {
		all = append(all, nodeSim{x, c.sim(&pa, x)})
	}
	sc.all = all
	slices.SortFunc(all, func(x, y nodeSim) int {
		switch {
		case x.sim > y.sim:
			return -1
		case x.sim < y.sim:
			return 1
		}
		return 0
	})
	// a's probe is its own vector (or sc.buf for a dead a): another
	// buffer decodes dead candidates
	sc.kept = c.selectNeighbors(all, maxM, sc.buf2, sc.kept)
	for i, k := range sc.kept {
		w[i] = k.n
	}
	g.setLinks(a, l, w[:len(sc.kept)])
}

// kill marks node n dead (its point about to be deleted or replaced),
// keeping codes of its vector to route with.
func (c *collection) kill(n uint32) {
	at := int(c.g.pos[n])
	codes := make([]int8, c.size)
	s := quantize(c.vecs.at(at), codes)
	c.g.ghosts[n] = ghost{scale: s, norm: float32(c.norms[at]), codes: codes}
	c.g.pos[n] = -1
	c.g.dead++
	if c.g.waiting[n] { // never linked: no search reaches it, none scans it
		c.g.waiting[n] = false
		c.g.nwait--
	}
}

// rebuildGraph builds the graph anew from the live points, in position
// order, dropping the dead nodes and their codes. The nodes are left
// unlinked, for the linker: meanwhile searches scan them exactly.
func (c *collection) rebuildGraph() {
	spec := c.g.spec
	c.g = newGraph(spec)
	c.codes, c.scales = nil, nil
	c.slots = make([]int32, len(c.ids))
	g := c.g
	g.pos, g.level = growCap(g.pos, len(c.ids)), growCap(g.level, len(c.ids))
	g.links0 = growCap(g.links0, len(c.ids)*(g.m0+1))
	g.waiting = growCap(g.waiting, len(c.ids))
	g.pending = growCap(g.pending, len(c.ids))
	for i := range c.ids {
		c.slots[i] = int32(c.newNode(i))
	}
}

// graphSearch answers from the graph and the unlinked points: the best
// limit of the ef nodes the graph found that are live and pass f, merged
// with the unlinked live points that pass f and may be among the best
// limit of those (unlinkedCands), all rescored in float64. An unlinked
// point is so found exactly: if it is among the best limit of the whole
// collection it is among the best limit of the unlinked ones. ok is false
// when the graph found fewer than limit (or than its linked points, when
// fewer are linked), or both together fewer than limit (a selective
// filter, many dead nodes): the caller then scans.
func (c *collection) graphSearch(s *search, f store.Filter, ef int) ([]store.Hit, bool, error) {
	g := c.g
	if g.top < 0 {
		return nil, false, nil
	}
	p := probe{v: s.q, qn: s.qn}
	sc := g.getScratch(c.size)
	defer g.scratch.Put(sc)
	sc.eps = append(sc.eps[:0], c.descend(&p, sc, g.entry, g.top, 0))
	w := c.searchLayer(&p, sc, sc.eps, max(ef, s.limit), 0)
	cands := make([]cand, 0, len(w))
	for _, x := range w {
		at := g.pos[x.n]
		if at < 0 || (len(f) > 0 && !match(f, c.scalars[at])) {
			continue
		}
		cands = append(cands, cand{i: int(at)})
	}
	// the graph must hold its own as before: limit of its linked points
	// (all of them when fewer are linked)
	if len(cands) < min(s.limit, len(c.ids)-g.nwait) {
		return nil, false, nil
	}
	// no link leads to an unlinked node, so the two sets do not meet
	cands = c.unlinkedCands(s, &p, f, cands)
	if len(cands) < min(s.limit, len(c.ids)) {
		return nil, false, nil
	}
	hits, err := c.rescore(s, cands)
	return hits, true, err
}

// unlinkedCands appends to cands the unlinked live points that pass f and
// may be among the best limit of them: a float32 scan (the graph's own
// scores) whose rounding error has a bound (f32Bound), keeping every point
// whose interval reaches the limit-th best lower bound, as the flat scan
// does with its int8 codes (candidates).
func (c *collection) unlinkedCands(s *search, p *probe, f store.Filter, cands []cand) []cand {
	g := c.g
	if g.nwait == 0 {
		return cands
	}
	k := newKeeper(cands, s.limit)
	for _, n := range g.pending {
		at := int(g.pos[n])
		if at < 0 || (len(f) > 0 && !match(f, c.scalars[at])) {
			continue
		}
		sim := c.sim(p, n)
		b := c.f32Bound(s.qn, c.norms[at])
		if sim+b >= k.floor {
			k.add(at, sim-b, sim+b)
		}
	}
	return k.done()
}

// f32Bound bounds the error of sim for a live point of norm xn against a
// query of norm qn: a float32 dot product of d terms, in any order, with
// or without fused multiply-adds, is within (d+2)u|q||x| of the exact one
// (u = 2^-24; Higham, Accuracy and Stability of Numerical Algorithms,
// 3.1), doubled for Euclid's 2*dot, and a margin for the float64
// arithmetic around it, as the flat scan's bounds have.
func (c *collection) f32Bound(qn, xn float64) float64 {
	e := 1.01 * float64(c.size+2) / (1 << 24)
	switch c.dist {
	case store.Cosine:
		return e + 1e-12
	case store.Euclid:
		return 2*e*qn*xn + 1e-9*(qn*qn+xn*xn)
	}
	return e*qn*xn + 1e-12*qn*xn
}

// The heaps of searchLayer.
func pushMax(h []nodeSim, x nodeSim) []nodeSim {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].sim >= h[i].sim {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func popMax(h []nodeSim) []nodeSim {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].sim > h[m].sim {
			m = l
		}
		if r < len(h) && h[r].sim > h[m].sim {
			m = r
		}
		if m == i {
			return h
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func pushMin(h []nodeSim, x nodeSim) []nodeSim {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].sim <= h[i].sim {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func popMin(h []nodeSim) []nodeSim {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].sim < h[m].sim {
			m = l
		}
		if r < len(h) && h[r].sim < h[m].sim {
			m = r
		}
		if m == i {
			return h
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
