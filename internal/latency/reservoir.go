package latency

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync/atomic"
)

var nan = math.NaN()

// reservoir is the pure-stdlib estimator. It keeps two bounded sets:
//
//   - a priority sample (Duffield, Lund and Thorup) of at most size values:
//     every value v gets the priority w/u with weight w = sqrt(max(v, 1e-3))
//     and u uniform in (0,1]; the size largest priorities are kept, and tau
//     is the largest priority ever left out. A kept value stands for
//     max(w, tau)/w values (its inverse inclusion probability), so slow
//     requests are kept with higher probability than fast ones: the sample
//     adapts to put its budget where latency quantiles need it (sqrt
//     balanced p50 against p99 better than v itself in a sweep of seeds). Two samples merge exactly
//     (the union's top priorities, the larger tau), which a classic
//     reservoir (Algorithm R) cannot do.
//   - the size largest values seen, exactly (the tail).
//
// Below size values everything is kept and every quantile is exact. Above,
// a quantile whose rank falls among the size largest values is still exact
// (p99.9 of up to size*1000 values, p99 of up to size*100), and lower
// quantiles come from the weighted sample. The minimum is exact too.
type reservoir struct {
	size   int
	n      uint64
	min    float64
	tau    float64   // largest priority left out of the sample; 0: none
	sample keyedHeap // min-heap on priority: the size largest priorities
	tail   valueHeap // min-heap on value: the size largest values
	rng    *rand.Rand
	// Sorted views for Quantile, rebuilt after a change (dirty).
	dirty   bool
	sorted  []keyed   // the sample by value
	cum     []float64 // estimated values up to and including sorted[i]
	vals    []float64 // the sample's values, sorted (exact case)
	tailSrt []float64 // the tail, sorted
}

type keyed struct {
	prio float64
	v    float64
}

// DefaultReservoirSize is LATENCY_RESERVOIR_SIZE's default.
const DefaultReservoirSize = 2048

// NewReservoirFactory returns a factory of reservoirs holding at most size
// sampled values and size tail values each (size >= 1).
func NewReservoirFactory(size int) Factory {
	size = max(size, 1)
	var seed atomic.Uint64
	return func() Estimator { return newReservoir(size, seed.Add(1)) }
}

func newReservoir(size int, seed uint64) *reservoir {
	return &reservoir{size: size, min: math.Inf(1), rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

func weight(v float64) float64 { return math.Sqrt(math.Max(v, 1e-3)) }

func (r *reservoir) Add(v float64) error {
	if !finite(v) {
		return ErrNotFinite
	}
	r.n++
	r.dirty = true
	r.min = math.Min(r.min, v)
	u := 1 - r.rng.Float64() // (0, 1]
	r.offer(keyed{prio: weight(v) / u, v: v})
	r.offerTail(v)
	return nil
}

func (r *reservoir) offer(k keyed) {
	if len(r.sample) < r.size {
		heap.Push(&r.sample, k)
		return
	}
	if k.prio <= r.sample[0].prio {
		r.tau = math.Max(r.tau, k.prio)
		return
	}
	r.tau = math.Max(r.tau, r.sample[0].prio)
	r.sample[0] = k
	heap.Fix(&r.sample, 0)
}

func (r *reservoir) offerTail(v float64) {
	if len(r.tail) < r.size {
		heap.Push(&r.tail, v)
		return
	}
	if v > r.tail[0] {
		r.tail[0] = v
		heap.Fix(&r.tail, 0)
	}
}

func (r *reservoir) Count() uint64 { return r.n }

// Quantile interpolates at rank q*(n-1), the definition the exact
// reference of the tests uses too.
func (r *reservoir) Quantile(q float64) float64 {
	if r.n == 0 || q < 0 || q > 1 {
		return nan
	}
	if q == 0 {
		return r.min
	}
	r.prepare()
	rank := q * float64(r.n-1)
	lo := int(math.Floor(rank))
	frac := rank - float64(lo)
	exact := uint64(len(r.sample)) == r.n // nothing left out yet
	fromTop := int(r.n-1) - lo            // rank lo is the fromTop-th largest (0-based)
	if exact || fromTop < len(r.tail) {
		all, base := r.vals, 0
		if !exact {
			all, base = r.tailSrt, int(r.n)-len(r.tailSrt)
		}
		i := lo - base
		if i+1 >= len(all) || frac == 0 {
			return all[min(i, len(all)-1)]
		}
		return all[i] + frac*(all[i+1]-all[i])
	}
	// Weighted sample: each kept value stands for max(w, tau)/w values and
	// sits at the midpoint of its mass; interpolate between midpoints.
	s, cum := r.sorted, r.cum
	target := q * cum[len(cum)-1]
	i, _ := slices.BinarySearchFunc(cum, target, cmp.Compare[float64]) // first i with cum[i] >= target
	i = min(i, len(s)-1)
	mid := func(j int) float64 { return cum[j] - r.mass(s[j].v)/2 }
	m := mid(i)
	switch {
	case target > m && i+1 < len(s):
		n := mid(i + 1)
		return s[i].v + (target-m)/(n-m)*(s[i+1].v-s[i].v)
	case target < m && i > 0:
		p := mid(i - 1)
		return s[i-1].v + (target-p)/(m-p)*(s[i].v-s[i-1].v)
	}
	return s[i].v
}

// mass is how many values a kept value stands for.
func (r *reservoir) mass(v float64) float64 {
	if r.tau == 0 {
		return 1
	}
	return math.Max(weight(v), r.tau) / weight(v)
}

// prepare rebuilds the sorted views after a change.
func (r *reservoir) prepare() {
	if !r.dirty && len(r.vals) == len(r.sample) {
		return
	}
	r.dirty = false
	r.sorted = append(r.sorted[:0], r.sample...)
	// sort's, not slices': a generic sort is instantiated per element shape
	// (keyed's and float64's, ~11 KB of every binary), sort's is linked anyway
	sort.Slice(r.sorted, func(i, j int) bool { return cmp.Less(r.sorted[i].v, r.sorted[j].v) })
	r.vals, r.cum = r.vals[:0], r.cum[:0]
	total := 0.0
	for _, k := range r.sorted {
		r.vals = append(r.vals, k.v)
		total += r.mass(k.v)
		r.cum = append(r.cum, total)
	}
	r.tailSrt = append(r.tailSrt[:0], r.tail...)
	sort.Sort(sort.Float64Slice(r.tailSrt)) // orders NaN as slices.Sort does
}

func (r *reservoir) Merge(other Estimator) error {
	o, ok := other.(*reservoir)
	if !ok {
		return fmt.Errorf("reservoir merge: cannot merge %T", other)
	}
	r.n += o.n
	r.dirty = true
	r.min = math.Min(r.min, o.min)
	r.tau = math.Max(r.tau, o.tau)
	for _, k := range o.sample {
		r.offer(k)
	}
	for _, v := range o.tail {
		r.offerTail(v)
	}
	return nil
}

func (r *reservoir) Clone() Estimator {
	return &reservoir{size: r.size, n: r.n, min: r.min, tau: r.tau, dirty: true,
		sample: slices.Clone(r.sample), tail: slices.Clone(r.tail),
		rng: rand.New(rand.NewPCG(r.rng.Uint64(), r.rng.Uint64()))}
}

func (r *reservoir) Reset() {
	r.n, r.min, r.tau, r.dirty = 0, math.Inf(1), 0, true
	r.sample, r.tail = r.sample[:0], r.tail[:0]
}

type keyedHeap []keyed

func (h keyedHeap) Len() int           { return len(h) }
func (h keyedHeap) Less(i, j int) bool { return h[i].prio < h[j].prio }
func (h keyedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *keyedHeap) Push(x any)        { *h = append(*h, x.(keyed)) }
func (h *keyedHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type valueHeap []float64

func (h valueHeap) Len() int           { return len(h) }
func (h valueHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h valueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *valueHeap) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *valueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
