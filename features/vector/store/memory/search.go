package memory

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

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
	x.lockRead() // ahead of the linker (linker.go)
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
	if !c.coded() { // no int8 copy: every point that passes is rescored
		for i := range c.ids {
			if len(f) == 0 || match(f, c.scalars[i]) {
				cands = append(cands, cand{i: i})
			}
		}
		return cands
	}
	k := newKeeper(nil, s.limit)
	for i := range c.ids {
		if len(f) > 0 && !match(f, c.scalars[i]) {
			continue
		}
		if lo, hi := c.bounds(s, i, i); hi >= k.floor {
			k.add(i, lo, hi)
		}
	}
	return k.done()
}

// keeper keeps the candidates that may be among the best limit: each
// whose upper bound reaches the limit-th best lower bound seen (the
// floor; the caller skips what falls under it before calling add). lows
// keeps the best limit lower bounds, worst at the root: once full, its
// root is the floor. Candidates are appended to cands past from (what the
// caller had there stays).
type keeper struct {
	cands       []cand
	from, limit int
	lows        []float64
	floor       float64
	pruneAt     int
}

func newKeeper(cands []cand, limit int) keeper {
	return keeper{cands: cands, from: len(cands), limit: limit, lows: make([]float64, 0, limit),
		floor: math.Inf(-1), pruneAt: max(1024, 4*limit)}
}

func (k *keeper) add(i int, lo, hi float64) {
	k.cands = append(k.cands, cand{i, hi})
	if len(k.lows) < k.limit {
		k.lows = append(k.lows, lo)
		floatUp(k.lows, len(k.lows)-1)
	} else if lo > k.lows[0] {
		k.lows[0] = lo
		floatDown(k.lows, 0)
	}
	if len(k.lows) == k.limit {
		k.floor = k.lows[0]
	}
	if n := len(k.cands) - k.from; n >= k.pruneAt {
		k.cands = append(k.cands[:k.from], prune(k.cands[k.from:], k.floor)...)
		k.pruneAt = max(k.pruneAt, 2*(len(k.cands)-k.from))
	}
}

// done returns cands with the kept candidates appended.
func (k *keeper) done() []cand {
	return append(k.cands[:k.from], prune(k.cands[k.from:], k.floor)...)
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
	v := c.vecs.at(i)
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

func match(f store.Filter, sc []kv) bool {
	for k, want := range f {
		i := sort.Search(len(sc), func(i int) bool { return sc[i].k >= k })
		if i == len(sc) || sc[i].k != k || sc[i].v != want {
			return false
		}
	}
	return true
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
