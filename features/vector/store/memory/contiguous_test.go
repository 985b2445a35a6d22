package memory

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestMatchesReference drives the contiguous index and the map walk it
// replaced with the same writes (replacements, deletes, duplicate vectors
// for ties) and compares every search: same ids, same order, same scores
// within float32 rounding, same payloads.
func TestMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []store.Distance{store.Cosine, store.Dot, store.Euclid} {
		for _, dim := range []int{3, 17, 100} {
			name := fmt.Sprintf("%s-%d", d, dim)
			x, ref := New(lim(100000, 10)), newRef(100000, 10)
			x.Create(ctx, name, dim, d)
			ref.Create(ctx, name, dim, d)
			var dup []float32
			for batch := 0; batch < 20; batch++ {
				var pts []store.Point
				for j := 0; j < 100; j++ {
					id := store.ID{Num: uint64(r.IntN(1500))}
					if j%7 == 0 {
						id = store.ID{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", r.IntN(300))}
					}
					v := randVec(r, dim)
					if j%10 == 0 && dup != nil {
						v = dup // equal scores: order falls to the id
					}
					dup = v
					pts = append(pts, store.Point{ID: id, Vector: v, Payload: map[string]any{
						"lang": []string{"go", "py", "rs"}[r.IntN(3)], "n": float64(r.IntN(4)), "even": id.Num%2 == 0,
						"nested": map[string]any{"lang": "go"},
					}})
				}
				if err := x.Upsert(ctx, name, pts); err != nil {
					t.Fatal(err)
				}
				if err := ref.Upsert(ctx, name, pts); err != nil {
					t.Fatal(err)
				}
				// delete a few points in both
				var del []store.ID
				for j := 0; j < 15; j++ {
					del = append(del, store.ID{Num: uint64(r.IntN(1500))})
				}
				n, err := x.DeletePoints(ctx, name, del)
				if err != nil {
					t.Fatal(err)
				}
				gone := 0
				for _, id := range del {
					if _, ok := ref.cols[name].points[id]; ok {
						delete(ref.cols[name].points, id)
						ref.total--
						gone++
					}
				}
				if n != gone {
					t.Fatalf("deleted %d, reference %d", n, gone)
				}
			}
			if x.Len() != ref.Len() {
				t.Fatalf("%s: %d points, reference %d", name, x.Len(), ref.Len())
			}
			filters := []store.Filter{nil, {"lang": "go"}, {"n": float64(2), "even": true}, {"nested": "go"}}
			for qi := 0; qi < 30; qi++ {
				q := randVec(r, dim)
				if qi == 0 {
					q = dup
				}
				for _, limit := range []int{1, 10, 100} {
					f := filters[qi%len(filters)]
					got, err := x.Search(ctx, name, q, limit, f)
					if err != nil {
						t.Fatal(err)
					}
					want, _ := ref.Search(ctx, name, q, limit, f)
					if len(got) != len(want) {
						t.Fatalf("%s q%d limit %d: %d hits, reference %d", name, qi, limit, len(got), len(want))
					}
					for i := range got {
						g, w := got[i], want[i]
						if g.ID != w.ID || !reflect.DeepEqual(g.Payload, w.Payload) ||
							math.Abs(float64(g.Score-w.Score)) > 2e-7*math.Max(1, math.Abs(float64(w.Score))) {
							t.Fatalf("%s q%d limit %d hit %d: %v %v %v, reference %v %v %v", name, qi, limit, i, g.ID, g.Score, g.Payload, w.ID, w.Score, w.Payload)
						}
					}
				}
			}
		}
	}
}

func TestByteBounds(t *testing.T) {
	l := Limits{MaxPoints: 1000, MaxCollections: 2, MaxBytes: 3 * (2*BytesPerDim + PointOverhead + 200), MaxPayloadBytes: 100, MaxPayloadDepth: 3}
	x := New(l)
	x.Create(ctx, "a", 2, store.Dot)
	p := func(id uint64, payload map[string]any) store.Point {
		return store.Point{ID: store.ID{Num: id}, Vector: []float32{1, 2}, Payload: payload}
	}
	if err := x.Upsert(ctx, "a", []store.Point{p(1, map[string]any{"s": strings.Repeat("x", 100)})}); !errors.Is(err, store.ErrPayloadTooLarge) {
		t.Fatalf("payload of 108 bytes: %v", err)
	}
	deep := map[string]any{"a": map[string]any{"b": []any{[]any{1.0}}}}
	if err := x.Upsert(ctx, "a", []store.Point{p(1, deep)}); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "VECTOR_MAX_PAYLOAD_DEPTH") {
		t.Fatalf("payload 4 deep: %v", err)
	}
	// a payload of empty objects costs its JSON bytes, not a map per object
	empties := map[string]any{"e": []any{map[string]any{}, map[string]any{}, map[string]any{}}}
	if err := x.Upsert(ctx, "a", []store.Point{p(1, empties), p(2, nil)}); err != nil {
		t.Fatal(err)
	}
	st := x.Stats()
	want := int64(2*(2*BytesPerDim+PointOverhead)) + int64(len(`{"e":[{},{},{}]}`))
	if st.Bytes != want {
		t.Fatalf("bytes held %d, want %d", st.Bytes, want)
	}
	// the third point fits, a fourth passes the byte bound though the point bound is far
	big := map[string]any{"s": strings.Repeat("y", 90)}
	if err := x.Upsert(ctx, "a", []store.Point{p(3, big)}); err != nil {
		t.Fatal(err)
	}
	before := x.Stats()
	err := x.Upsert(ctx, "a", []store.Point{p(4, big), p(5, nil)})
	if !errors.Is(err, store.ErrFull) || !strings.Contains(err.Error(), "VECTOR_MEMORY_MAX_BYTES") {
		t.Fatalf("past the byte bound: %v", err)
	}
	if x.Stats() != before {
		t.Fatalf("a rejected batch changed the index: %+v, was %+v", x.Stats(), before)
	}
	// replacing a big payload by a small one frees bytes
	if err := x.Upsert(ctx, "a", []store.Point{p(3, nil), p(4, nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.DeletePoints(ctx, "a", []store.ID{{Num: 1}, {Num: 2}, {Num: 3}, {Num: 4}, {Num: 99}}); err != nil {
		t.Fatal(err)
	}
	if st := x.Stats(); st.Bytes != 0 || st.Points != 0 {
		t.Fatalf("after deleting everything: %+v", st)
	}
}

const benchN, benchDim = 100_000, 384

func fill(b *testing.B, up func([]store.Point) error) [][]float32 {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < benchN; i += 1000 {
		pts := make([]store.Point, 1000)
		for j := range pts {
			pts[j] = store.Point{ID: store.ID{Num: uint64(i + j)}, Vector: randVec(r, benchDim), Payload: map[string]any{"n": float64(i + j)}}
		}
		if err := up(pts); err != nil {
			b.Fatal(err)
		}
	}
	qs := make([][]float32, 64)
	for i := range qs {
		qs[i] = randVec(r, benchDim)
	}
	return qs
}

// BenchmarkSearch100k: 100,000 points of dimension 384, cosine, top 10, one
// query at a time; "map" is the test oracle (a map walk that scores and
// sorts every point), the baseline the index is measured against.
func BenchmarkSearch100k(b *testing.B) {
	b.Run("map", func(b *testing.B) {
		x := newRef(benchN, 1)
		x.Create(ctx, "c", benchDim, store.Cosine)
		qs := fill(b, func(p []store.Point) error { return x.Upsert(ctx, "c", p) })
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := x.Search(ctx, "c", qs[i%len(qs)], 10, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("contiguous", func(b *testing.B) {
		x := New(Limits{MaxPoints: benchN, MaxCollections: 1, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8})
		x.Create(ctx, "c", benchDim, store.Cosine)
		qs := fill(b, func(p []store.Point) error { return x.Upsert(ctx, "c", p) })
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := x.Search(ctx, "c", qs[i%len(qs)], 10, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemoryPerPoint reports the heap the index holds per point
// (bytes/point) against the raw vector bytes (4 per dimension: 1536).
func BenchmarkMemoryPerPoint(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		x := New(Limits{MaxPoints: benchN, MaxCollections: 1, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8})
		x.Create(ctx, "c", benchDim, store.Cosine)
		fill(b, func(p []store.Point) error { return x.Upsert(ctx, "c", p) })
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/benchN, "heap-bytes/point")
		b.ReportMetric(float64(x.Stats().Bytes)/benchN, "counted-bytes/point")
		b.ReportMetric(4*benchDim, "raw-vector-bytes/point")
		runtime.KeepAlive(x)
	}
}

// TestScreenAtTheEdges: components near the float32 limits (the float32
// screen overflows) and tiny ones (subnormal products) rank as the
// reference ranks them.
func TestScreenAtTheEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, scale := range []float32{3e38, 1e-30, 1} {
		for _, d := range []store.Distance{store.Dot, store.Cosine} {
			x, ref := New(lim(1000, 1)), newRef(1000, 1)
			x.Create(ctx, "e", 9, d)
			ref.Create(ctx, "e", 9, d)
			var pts []store.Point
			for i := 0; i < 300; i++ {
				v := randVec(r, 9)
				for j := range v {
					v[j] *= scale
				}
				pts = append(pts, store.Point{ID: store.ID{Num: uint64(i)}, Vector: v})
			}
			x.Upsert(ctx, "e", pts)
			ref.Upsert(ctx, "e", pts)
			for k := 0; k < 20; k++ {
				q := randVec(r, 9)
				for j := range q {
					q[j] *= scale
				}
				got, _ := x.Search(ctx, "e", q, 5, nil)
				want, _ := ref.Search(ctx, "e", q, 5, nil)
				if len(got) != len(want) {
					t.Fatalf("scale %g %s: %d hits, reference %d", scale, d, len(got), len(want))
				}
				for i := range want {
					if got[i].ID != want[i].ID || got[i].Score != want[i].Score {
						t.Fatalf("scale %g %s: %v, reference %v", scale, d, got, want)
					}
				}
			}
		}
	}
}
