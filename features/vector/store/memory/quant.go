package memory

import (
	"math"
	"runtime"
	"sync"
)

// Scalar quantization. Each point is kept a second time as int8 codes with
// one scale per point: x[i] = scale*code[i] + e[i] with |e[i]| <= scale/2
// (scale = max|x[i]|/127, rounded up). A per-point scale needs no training
// and no re-encoding as points arrive, and it gives every approximate
// score a hard error bound, which is what makes the quantized scan exact
// after rescoring (see Search). A query is quantized to int16 (error
// negligible but bounded too), and their dot product is an exact integer.

// quantizeAll makes the codes of every point (a collection turned flat),
// the points shared among the cores: at a million points of dimension 384
// one core takes 1.5-2 s.
func (c *collection) quantizeAll() {
	n := len(c.ids)
	c.codes, c.scales = make([]int8, n*c.size), make([]float32, n)
	adviseHuge(c.codes)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				c.scales[i] = quantize(c.vecs.at(i), c.codes[i*c.size:(i+1)*c.size])
			}
		}()
	}
	wg.Wait()
}

// quantize writes the codes of v into dst and returns the scale. It is
// written without branches on the data (the absolute value by its sign
// bit, SSE4.1 rounding), which a reload of a million points notices.
func quantize(v []float32, dst []int8) float32 {
	var m float32
	for _, x := range v {
		m = max(m, math.Float32frombits(math.Float32bits(x)&^(1<<31)))
	}
	if m == 0 {
		clear(dst)
		return 0
	}
	s := float32(float64(m) / 127)
	for float64(s)*127 < float64(m) { // every |x/s| stays within 127
		s = math.Nextafter32(s, float32(math.Inf(1)))
	}
	// x*inv is within 2^-52 of x/s: the bounds' relative margin covers it
	inv := 1 / float64(s)
	dst = dst[:len(v)]
	for i, x := range v {
		c := int32(math.RoundToEven(float64(x) * inv))
		dst[i] = int8(min(127, max(-127, c)))
	}
	return s
}

// query is a search vector quantized to int16, with what the error bounds
// need.
type query struct {
	codes []int16
	scale float64 // q ≈ scale*codes
	l1    float64 // scale * sum |codes[i]|
	errQ  float64 // bound on |q[i] - scale*codes[i]|
}

func quantizeQuery(q []float32) query {
	var m float64
	for _, x := range q {
		m = max(m, math.Abs(float64(x)))
	}
	out := query{codes: make([]int16, len(q))}
	if m == 0 {
		return out
	}
	// the integer dot sums d products of at most qmax*127: it must fit in
	// an int32 (qmax is 32767 up to 516 dimensions, 4128 at 4096)
	qmax := float64(min(32767, (math.MaxInt32)/(127*len(q))))
	out.scale = m / qmax
	var l1 int64
	for i, x := range q {
		c := int16(max(-qmax, min(qmax, math.Round(float64(x)/out.scale))))
		out.codes[i] = c
		l1 += int64(max(c, -c))
	}
	out.l1 = out.scale * float64(l1)
	out.errQ = out.scale / 2
	return out
}

// approxDot returns an estimate of q·x for a point with codes c and scale s
// and a bound on its error against the float64 dot product the exact
// search computes. With q = sq*cq + eq and x = s*c + e:
//
//	q·x = sq*s*(cq·c) + sq*(cq·e) + eq·x
//	|sq*(cq·e)| <= (s/2) * sq*sum|cq|      |eq·x| <= (sq/2) * sqrt(d) * |x|
//
// plus a relative margin for the float64 rounding of the estimate and of
// the exact sum (d*2^-50 of |q|*|x|, far above either).
func (q *query) approxDot(c []int8, s float32, xn, qn float64) (est, bound float64) {
	est = q.scale * float64(s) * float64(dotI8(q.codes, c))
	d := float64(len(q.codes))
	bound = float64(s)/2*q.l1 + q.errQ*math.Sqrt(d)*xn
	bound = bound*(1+1e-9) + (d*0x1p-50+1e-12)*qn*xn + 1e-300
	return est, bound
}
