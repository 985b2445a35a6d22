package latency

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

var nan = math.NaN()

// reservoir is the pure-stdlib estimator. It keeps two bounded sets:
//
//   - a uniform sample of at most size values: every value draws a random
//     key and the size values with the largest keys are kept (a bottom-k
//     sketch). Two such samples merge exactly into a uniform sample of the
//     union, which a classic reservoir (Algorithm R) cannot do.
//   - the size largest values seen, exactly (the tail).
//
// Below size values everything is kept and every quantile is exact. Above,
// a quantile whose rank falls among the size largest values is still exact
// (p99.9 of up to size*1000 values, p99 of up to size*100), and lower
// quantiles come from the uniform sample, with the sampling error of a
// sample of size values. The minimum is exact too.
type reservoir struct {
	size   int
	n      uint64
	min    float64
	sample keyedHeap // min-heap on key: the size largest keys
	tail   valueHeap // min-heap on value: the size largest values
	rng    *rand.Rand
	sorted []float64 // scratch for Quantile
}

type keyed struct {
	key uint64
	v   float64
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

func (r *reservoir) Add(v float64) error {
	if !finite(v) {
		return ErrNotFinite
	}
	r.n++
	r.min = math.Min(r.min, v)
	r.offer(keyed{key: r.rng.Uint64(), v: v})
	r.offerTail(v)
	return nil
}

func (r *reservoir) offer(k keyed) {
	if len(r.sample) < r.size {
		heap.Push(&r.sample, k)
		return
	}
	if k.key > r.sample[0].key {
		r.sample[0] = k
		heap.Fix(&r.sample, 0)
	}
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
	rank := q * float64(r.n-1)
	lo := int(math.Floor(rank))
	frac := rank - float64(lo)
	// Ranks counted from the top: the tail holds ranks n-len(tail)..n-1.
	fromTop := int(r.n-1) - lo // rank lo is the fromTop-th largest (0-based)
	if uint64(len(r.sample)) == r.n || fromTop < len(r.tail) {
		var all []float64
		base := 0
		if uint64(len(r.sample)) == r.n {
			all = r.sortedSample() // everything is kept
		} else {
			all = r.sortedTail()
			base = int(r.n) - len(all)
		}
		i := lo - base
		if i+1 >= len(all) || frac == 0 {
			return all[min(i, len(all)-1)]
		}
		return all[i] + frac*(all[i+1]-all[i])
	}
	s := r.sortedSample()
	if len(s) == 1 {
		return s[0]
	}
	// The sample's own rank: same q over the sample, with the exact min.
	sr := q * float64(len(s)-1)
	i := int(math.Floor(sr))
	f := sr - float64(i)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + f*(s[i+1]-s[i])
}

func (r *reservoir) sortedSample() []float64 {
	r.sorted = r.sorted[:0]
	for _, k := range r.sample {
		r.sorted = append(r.sorted, k.v)
	}
	slices.Sort(r.sorted)
	return r.sorted
}

func (r *reservoir) sortedTail() []float64 {
	r.sorted = append(r.sorted[:0], r.tail...)
	slices.Sort(r.sorted)
	return r.sorted
}

func (r *reservoir) Merge(other Estimator) error {
	o, ok := other.(*reservoir)
	if !ok {
		return fmt.Errorf("reservoir merge: cannot merge %T", other)
	}
	r.n += o.n
	r.min = math.Min(r.min, o.min)
	for _, k := range o.sample {
		r.offer(k)
	}
	for _, v := range o.tail {
		r.offerTail(v)
	}
	return nil
}

func (r *reservoir) Clone() Estimator {
	c := &reservoir{size: r.size, n: r.n, min: r.min,
		sample: slices.Clone(r.sample), tail: slices.Clone(r.tail),
		rng: rand.New(rand.NewPCG(r.rng.Uint64(), r.rng.Uint64()))}
	return c
}

func (r *reservoir) Reset() {
	r.n, r.min = 0, math.Inf(1)
	r.sample, r.tail = r.sample[:0], r.tail[:0]
}

type keyedHeap []keyed

func (h keyedHeap) Len() int           { return len(h) }
func (h keyedHeap) Less(i, j int) bool { return h[i].key < h[j].key }
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
