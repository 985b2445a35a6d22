package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

var ctx = context.Background()

// lim bounds points and collections, with generous byte bounds.
func lim(points, cols int) Limits {
	return Limits{MaxPoints: points, MaxCollections: cols, MaxBytes: 1 << 30, MaxPayloadBytes: 1 << 20, MaxPayloadDepth: 32, MaxUnlinked: DefaultMaxUnlinked}
}

func pt(id uint64, v ...float32) store.Point {
	return store.Point{ID: store.ID{Num: id}, Vector: v, Payload: map[string]any{"n": float64(id)}}
}

func ids(hits []store.Hit) string {
	s := ""
	for _, h := range hits {
		s += h.ID.String() + " "
	}
	return s
}

func near(a float32, b float64) bool { return math.Abs(float64(a)-b) < 1e-5 }

func TestDistances(t *testing.T) {
	x := New(lim(100, 10))
	for _, d := range []store.Distance{store.Cosine, store.Dot, store.Euclid} {
		if _, err := x.Create(ctx, string(d), 2, d); err != nil {
			t.Fatal(err)
		}
		// 1: along x; 2: along y, long; 3: diagonal; 4: along x, long
		if err := x.Upsert(ctx, string(d), []store.Point{pt(1, 1, 0), pt(2, 0, 3), pt(3, 1, 1), pt(4, 4, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	q := []float32{1, 0.1}
	for _, tc := range []struct {
		d     store.Distance
		order string
		top   float64
	}{
		// cosine ignores length: 1 and 4 are equally near (tie -> smaller id)
		{store.Cosine, "1 4 3 2 ", 1 / math.Sqrt(1.01)},
		// dot rewards length: 4 first (4.0), then 3 (1.1), 1 (1.0), 2 (0.3)
		{store.Dot, "4 3 1 2 ", 4},
		// euclid: smallest distance first, score is the distance
		{store.Euclid, "1 3 4 2 ", 0.1},
	} {
		hits, err := x.Search(ctx, string(tc.d), q, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ids(hits) != tc.order || !near(hits[0].Score, tc.top) {
			t.Errorf("%s: order %s score %v, want %s %v", tc.d, ids(hits), hits[0].Score, tc.order, tc.top)
		}
		if hits[0].Payload["n"] == nil {
			t.Errorf("%s: payload missing", tc.d)
		}
		if top2, _ := x.Search(ctx, string(tc.d), q, 2, nil); len(top2) != 2 || ids(top2) != tc.order[:4] {
			t.Errorf("%s: limit 2 gave %s", tc.d, ids(top2))
		}
	}
}

func TestFilter(t *testing.T) {
	x := New(lim(100, 10))
	x.Create(ctx, "c", 2, store.Dot)
	x.Upsert(ctx, "c", []store.Point{
		{ID: store.ID{Num: 1}, Vector: []float32{1, 0}, Payload: map[string]any{"lang": "go", "n": float64(1)}},
		{ID: store.ID{Num: 2}, Vector: []float32{2, 0}, Payload: map[string]any{"lang": "py", "n": float64(1)}},
		{ID: store.ID{Num: 3}, Vector: []float32{3, 0}, Payload: map[string]any{"lang": "go", "n": float64(2), "ok": true}},
	})
	for f, want := range map[string]store.Filter{
		"3 1 ": {"lang": "go"},
		"2 1 ": {"n": float64(1)},
		"3 ":   {"ok": true},
		"1 ":   {"lang": "go", "n": float64(1)},
		"":     {"lang": "rust"},
	} {
		hits, err := x.Search(ctx, "c", []float32{1, 0}, 10, want)
		if err != nil || ids(hits) != f {
			t.Errorf("filter %v: %s %v, want %s", want, ids(hits), err, f)
		}
	}
	for _, bad := range []store.Filter{{"n": 1.5}, {"x": []any{1}}, {"": "a"}, {"x": nil}} {
		if bad.Check() == nil {
			t.Errorf("filter %v accepted", bad)
		}
	}
}

func TestBoundsAndAtomicity(t *testing.T) {
	x := New(lim(3, 2))
	if c, err := x.Create(ctx, "a", 2, store.Cosine); !c || err != nil {
		t.Fatal(c, err)
	}
	if c, err := x.Create(ctx, "a", 2, store.Cosine); c || err != nil {
		t.Fatalf("identical re-create: %v %v", c, err)
	}
	if _, err := x.Create(ctx, "a", 3, store.Cosine); !errors.Is(err, store.ErrCollectionConflict) {
		t.Fatalf("conflict: %v", err)
	}
	x.Create(ctx, "b", 2, store.Dot)
	if _, err := x.Create(ctx, "c", 2, store.Dot); !errors.Is(err, store.ErrFull) {
		t.Fatalf("third collection: %v", err)
	}
	if err := x.Upsert(ctx, "a", []store.Point{pt(1, 1, 0), pt(2, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	// replacing an existing point does not count; a duplicate id in one batch counts once
	if err := x.Upsert(ctx, "a", []store.Point{pt(1, 1, 1), pt(3, 1, 2), pt(3, 1, 3)}); err != nil || x.Len() != 3 {
		t.Fatalf("%v len %d", err, x.Len())
	}
	if p, _ := x.Get(ctx, "a", store.ID{Num: 3}); p.Vector[1] != 3 {
		t.Fatalf("last write in a batch wins: %v", p)
	}
	// the bound is over all collections, and a batch past it changes nothing
	if err := x.Upsert(ctx, "b", []store.Point{pt(9, 1, 0)}); !errors.Is(err, store.ErrFull) {
		t.Fatalf("over bound: %v", err)
	}
	if err := x.Upsert(ctx, "a", []store.Point{pt(2, 5, 5), pt(4, 1, 0)}); !errors.Is(err, store.ErrFull) {
		t.Fatalf("over bound: %v", err)
	}
	if p, _ := x.Get(ctx, "a", store.ID{Num: 2}); p.Vector[0] != 0 {
		t.Fatal("a rejected batch changed a point")
	}
	// a bad point rejects the whole batch
	if err := x.Upsert(ctx, "a", []store.Point{pt(1, 7, 7), pt(2, 1, 2, 3)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("dimension mismatch: %v", err)
	}
	if p, _ := x.Get(ctx, "a", store.ID{Num: 1}); p.Vector[0] != 1 {
		t.Fatal("a rejected batch changed a point")
	}
	// deleting a collection frees its points
	if err := x.Delete(ctx, "a"); err != nil || x.Len() != 0 {
		t.Fatalf("%v len %d", err, x.Len())
	}
	if err := x.Upsert(ctx, "b", []store.Point{pt(1, 1, 0), pt(2, 1, 0), pt(3, 1, 0)}); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownCollectionAndPoint(t *testing.T) {
	x := New(lim(10, 10))
	for name, err := range map[string]error{
		"search": func() error { _, err := x.Search(ctx, "nope", []float32{1}, 1, nil); return err }(),
		"upsert": x.Upsert(ctx, "nope", []store.Point{pt(1, 1)}),
		"get":    func() error { _, err := x.Get(ctx, "nope", store.ID{Num: 1}); return err }(),
		"info":   func() error { _, err := x.Info(ctx, "nope"); return err }(),
		"delete": x.Delete(ctx, "nope"),
	} {
		if !errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
	x.Create(ctx, "c", 1, store.Dot)
	if _, err := x.Get(ctx, "c", store.ID{UUID: "6e8bc430-9c3a-11d9-9669-0800200c9a66"}); !errors.Is(err, store.ErrPointNotFound) {
		t.Fatal(err)
	}
}

func TestVectorChecks(t *testing.T) {
	x := New(lim(10, 10))
	x.Create(ctx, "cos", 3, store.Cosine)
	x.Create(ctx, "dot", 3, store.Dot)
	if _, err := x.Search(ctx, "cos", []float32{1, 0}, 1, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("dimension mismatch: %v", err)
	}
	if err := x.Upsert(ctx, "cos", []store.Point{pt(1, 0, 0, 0)}); err == nil {
		t.Fatal("zero vector in a cosine collection")
	}
	if err := x.Upsert(ctx, "dot", []store.Point{pt(1, 0, 0, 0)}); err != nil {
		t.Fatalf("zero vector in a dot collection: %v", err)
	}
	if err := x.Upsert(ctx, "dot", []store.Point{pt(2, float32(math.Inf(1)), 0, 0)}); err == nil {
		t.Fatal("infinite value accepted")
	}
}

func TestIDs(t *testing.T) {
	for in, want := range map[string]string{
		"0":                                    "0",
		"18446744073709551615":                 "18446744073709551615",
		"6E8BC430-9C3A-11D9-9669-0800200C9A66": "6e8bc430-9c3a-11d9-9669-0800200c9a66",
	} {
		id, err := store.ParseID(in)
		if err != nil || id.String() != want {
			t.Errorf("%s: %v %v", in, id, err)
		}
	}
	for _, bad := range []string{"", "-1", "1.5", "18446744073709551616", "abc", "6e8bc430-9c3a-11d9-9669", "1e3"} {
		if _, err := store.ParseID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for in, want := range map[string]string{
		`7`: "7", `"7"`: "7", `"6e8bc430-9c3a-11d9-9669-0800200c9a66"`: "6e8bc430-9c3a-11d9-9669-0800200c9a66",
	} {
		id, err := store.ParseIDJSON([]byte(in))
		if err != nil || id.String() != want {
			t.Errorf("%s: %v %v", in, id, err)
		}
	}
	for _, bad := range []string{`-3`, `1.5`, `1e2`, `"x"`, `null`, ``, `true`, `[1]`, `{"a":1}`} {
		if _, err := store.ParseIDJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	b, _ := store.ID{Num: 42}.MarshalJSON()
	u, _ := store.ID{UUID: "6e8bc430-9c3a-11d9-9669-0800200c9a66"}.MarshalJSON()
	if string(b) != "42" || string(u) != `"6e8bc430-9c3a-11d9-9669-0800200c9a66"` {
		t.Fatal(string(b), string(u))
	}
	for _, name := range []string{"", "a b", "x/y", fmt.Sprintf("%065d", 0)} {
		if store.CheckName(name) == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func BenchmarkSearch10kx128(b *testing.B) {
	x := New(lim(20000, 1))
	x.Create(ctx, "c", 128, store.Cosine)
	pts := make([]store.Point, 10000)
	for i := range pts {
		v := make([]float32, 128)
		for j := range v {
			v[j] = float32((i*31+j*17)%97) + 1
		}
		pts[i] = store.Point{ID: store.ID{Num: uint64(i)}, Vector: v}
	}
	if err := x.Upsert(ctx, "c", pts); err != nil {
		b.Fatal(err)
	}
	q := pts[123].Vector
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := x.Search(ctx, "c", q, 10, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTopKMatchesFullSort checks the bounded heap against sorting every
// score, for each distance and several limits, on pseudo-random points
// (with duplicates, so ties are exercised).
func TestTopKMatchesFullSort(t *testing.T) {
	x := New(lim(1000, 3))
	seed := uint64(7)
	rnd := func() float32 { seed = seed*6364136223846793005 + 1442695040888963407; return float32(seed>>59) - 8 }
	pts := make([]store.Point, 300)
	for i := range pts {
		pts[i] = store.Point{ID: store.ID{Num: uint64(i)}, Vector: []float32{rnd(), rnd(), rnd()}}
		if pts[i].Vector[0] == 0 && pts[i].Vector[1] == 0 && pts[i].Vector[2] == 0 {
			pts[i].Vector[0] = 1
		}
	}
	q := []float32{1, -2, 0.5}
	for _, d := range []store.Distance{store.Cosine, store.Dot, store.Euclid} {
		x.Create(ctx, string(d), 3, d)
		if err := x.Upsert(ctx, string(d), pts); err != nil {
			t.Fatal(err)
		}
		all, _ := x.Search(ctx, string(d), q, 1000, nil)
		if len(all) != 300 {
			t.Fatalf("%s: %d hits", d, len(all))
		}
		for i := 1; i < len(all); i++ {
			a, b := all[i-1], all[i]
			worse := a.Score < b.Score
			if d == store.Euclid {
				worse = a.Score > b.Score
			}
			if worse || (a.Score == b.Score && a.ID.Num > b.ID.Num) {
				t.Fatalf("%s: out of order at %d: %+v %+v", d, i, a, b)
			}
		}
		for _, k := range []int{1, 2, 7, 50, 299, 300} {
			top, _ := x.Search(ctx, string(d), q, k, nil)
			if ids(top) != ids(all[:k]) {
				t.Fatalf("%s limit %d: %s, want %s", d, k, ids(top), ids(all[:k]))
			}
		}
	}
}
