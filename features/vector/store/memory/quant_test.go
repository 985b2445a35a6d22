package memory

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// TestDotI8MatchesGo: the AVX2 kernel (where the CPU has it) sums exactly
// what the plain Go loop sums, at every length and at the extremes.
func TestDotI8MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 100; n++ {
		q, c := make([]int16, n), make([]int8, n)
		for i := range q {
			q[i], c[i] = int16(r.IntN(65535)-32767), int8(r.IntN(255)-127)
		}
		if got, want := dotI8(q, c), dotI8Go(q, c); got != want {
			t.Fatalf("n=%d: %d, want %d (avx2 %v)", n, got, want, useAVX2)
		}
	}
	// the largest sum quantizeQuery allows: every product at its maximum
	q := quantizeQuery(slicesOf(384, 1))
	c := make([]int8, 384)
	for i := range c {
		c[i] = 127
	}
	if got, want := int64(dotI8(q.codes, c)), 384*127*int64(q.codes[0]); got != want {
		t.Fatalf("extreme sum %d, want %d", got, want)
	}
	t.Logf("avx2: %v", useAVX2)
}

func slicesOf(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestQuantBoundHolds: the interval of approxDot holds the float64 dot
// product for random vectors of many shapes and scales, including constant
// vectors (every code at its extreme) and single spikes.
func TestQuantBoundHolds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 3000; trial++ {
		dim := []int{1, 3, 16, 17, 384, 1000, 5000}[trial%7]
		scale := []float64{1, 1e-30, 3e30, 1e-3}[trial%4]
		gen := func() []float32 {
			v := make([]float32, dim)
			for i := range v {
				switch trial % 3 {
				case 0:
					v[i] = float32(r.NormFloat64() * scale)
				case 1:
					v[i] = float32(scale)
				default:
					if i == 0 {
						v[i] = float32(scale * 100)
					} else {
						v[i] = float32(r.Float64() * scale)
					}
				}
			}
			return v
		}
		x, qv := gen(), gen()
		codes := make([]int8, dim)
		s := quantize(x, codes)
		q := quantizeQuery(qv)
		qd := make([]float64, dim)
		for i, v := range qv {
			qd[i] = float64(v)
		}
		exact := dot(qd, x)
		est, b := q.approxDot(codes, s, norm(x), norm(qv))
		if math.Abs(exact-est) > b {
			t.Fatalf("trial %d (dim %d, scale %g): exact %g, estimate %g, bound %g", trial, dim, scale, exact, est, b)
		}
	}
}

// clustered returns n points of dimension dim around a few centres, with
// exact duplicates, the shape where near-ties make a loose bound fail.
func clustered(r *rand.Rand, n, dim, centres int) [][]float32 {
	cs := make([][]float32, centres)
	for i := range cs {
		cs[i] = randVec(r, dim)
	}
	out := make([][]float32, n)
	for i := range out {
		if i > 0 && i%50 == 0 {
			out[i] = out[i-1]
			continue
		}
		c := cs[r.IntN(centres)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + float32(0.05*r.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// TestQuantizedScanIsExact: on random and clustered sets of dimension 384,
// with and without a filter, for every distance, the search returns the
// reference's top 10 (the float64 map walk): same ids, order and scores.
func TestQuantizedScanIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const n, dim = 3000, 384
	sets := map[string][][]float32{"random": nil, "clustered": clustered(r, n, dim, 8)}
	sets["random"] = make([][]float32, n)
	for i := range sets["random"] {
		sets["random"][i] = randVec(r, dim)
	}
	for setName, vecs := range sets {
		for _, d := range []store.Distance{store.Cosine, store.Dot, store.Euclid} {
			x, ref := New(lim(n, 1)), newRef(n, 1)
			x.Create(ctx, "c", dim, d)
			ref.Create(ctx, "c", dim, d)
			for i := 0; i < n; i += 500 {
				var pts []store.Point
				for j := i; j < i+500; j++ {
					pts = append(pts, store.Point{ID: store.ID{Num: uint64(j)}, Vector: vecs[j], Payload: map[string]any{"m": float64(j % 7)}})
				}
				x.Upsert(ctx, "c", pts)
				ref.Upsert(ctx, "c", pts)
			}
			for k := 0; k < 40; k++ {
				q := vecs[r.IntN(n)] // a stored point: its duplicates tie with it
				if k%2 == 1 {
					q = randVec(r, dim)
				}
				var f store.Filter
				if k%4 == 3 {
					f = store.Filter{"m": float64(3)}
				}
				got, err := x.Search(ctx, "c", q, 10, f)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := ref.Search(ctx, "c", q, 10, f)
				if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
					t.Fatalf("%s %s query %d: %s\nreference %s", setName, d, k, ids(got), ids(want))
				}
				for i := range want {
					if math.Abs(float64(got[i].Score-want[i].Score)) > 1e-5*max(1, math.Abs(float64(want[i].Score))) {
						t.Fatalf("%s %s query %d: score %v, reference %v", setName, d, k, got[i].Score, want[i].Score)
					}
				}
			}
		}
	}
}

// BenchmarkRescored reports how many points the quantized scan rescores
// per query of top 10 at 100,000 x 384 (the rest are read as int8 only).
func BenchmarkRescored(b *testing.B) {
	x := New(Limits{MaxPoints: benchN, MaxCollections: 1, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8})
	x.Create(ctx, "c", benchDim, store.Cosine)
	qs := fill(b, func(p []store.Point) error { return x.Upsert(ctx, "c", p) })
	c := x.cols["c"]
	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		s := c.newSearch(qs[i%len(qs)], 10)
		total += len(c.candidates(s, nil))
	}
	b.ReportMetric(float64(total)/float64(b.N), "rescored/query")
}

// TestDotF32MatchesGo: the AVX2+FMA float32 kernel agrees with the Go loop
// within float32 rounding at every length.
func TestDotF32MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for n := 0; n < 200; n++ {
		a, b := randVec(r, n), randVec(r, n)
		var abs float64
		for i := range a {
			abs += math.Abs(float64(a[i]) * float64(b[i]))
		}
		got, want := dotF32(a, b), dotF32Go(a, b)
		if math.Abs(float64(got-want)) > 1e-5*abs+1e-6 {
			t.Fatalf("n=%d: %g, Go %g (fma %v)", n, got, want, useFMA)
		}
	}
}
