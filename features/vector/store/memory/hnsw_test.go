package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

var hnswSpec = store.IndexSpec{Type: store.IndexHNSW, M: 16, EfConstruction: 100}

// checkGraph asserts the invariants that tie positions and nodes.
func checkGraph(t *testing.T, c *collection) {
	t.Helper()
	if c.g == nil {
		t.Fatal("no graph")
	}
	if len(c.slots) != len(c.ids) || len(c.g.ghosts) != c.g.dead || c.codes != nil {
		t.Fatalf("sizes: %d slots, %d ids, %d ghosts of %d dead, %d codes", len(c.slots), len(c.ids), len(c.g.ghosts), c.g.dead, len(c.codes))
	}
	live := 0
	for n, at := range c.g.pos {
		if at >= 0 {
			live++
			if int(c.slots[at]) != n {
				t.Fatalf("node %d says position %d, which says node %d", n, at, c.slots[at])
			}
		}
	}
	if live != len(c.ids) || len(c.g.pos)-live != c.g.dead {
		t.Fatalf("%d live nodes for %d points, %d dead counted of %d", live, len(c.ids), c.g.dead, len(c.g.pos)-live)
	}
}

func fillIndex(t testing.TB, x *Index, name string, vecs [][]float32) {
	for i := 0; i < len(vecs); i += 500 {
		var pts []store.Point
		for j := i; j < min(i+500, len(vecs)); j++ {
			pts = append(pts, store.Point{ID: store.ID{Num: uint64(j)}, Vector: vecs[j], Payload: map[string]any{"m": float64(j % 100)}})
		}
		if err := x.Upsert(ctx, name, pts); err != nil {
			t.Fatal(err)
		}
	}
	// the tests of the graph look at it whole: wait for the linker
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := x.WaitLinked(wctx, name); err != nil {
		t.Fatal(err)
	}
}

// recall is the share of the exact top k that the graph search returns.
func recall(t testing.TB, x *Index, name string, qs [][]float32, k, ef int) float64 {
	found, total := 0, 0
	for _, q := range qs {
		want, err := x.SearchWith(ctx, name, q, k, nil, store.SearchParams{Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.SearchWith(ctx, name, q, k, nil, store.SearchParams{Ef: ef})
		if err != nil {
			t.Fatal(err)
		}
		in := map[store.ID]bool{}
		for _, h := range got {
			in[h.ID] = true
		}
		for _, h := range want {
			if in[h.ID] {
				found++
			}
		}
		total += len(want)
	}
	return float64(found) / float64(total)
}

// TestHNSWRecall: at 5,000 points (random and clustered, dimension 64) the
// graph's top 10 holds at least 90% of the exact top 10 for every
// distance.
func TestHNSWRecall(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const n, dim = 5000, 64
	random := make([][]float32, n)
	for i := range random {
		random[i] = randVec(r, dim)
	}
	sets := map[string][][]float32{"random": random, "clustered": clustered(r, n, dim, 20)}
	for setName, vecs := range sets {
		for _, d := range []store.Distance{store.Cosine, store.Dot, store.Euclid} {
			x := New(lim(n, 1))
			if _, err := x.CreateIndexed(ctx, "h", dim, d, hnswSpec); err != nil {
				t.Fatal(err)
			}
			fillIndex(t, x, "h", vecs)
			checkGraph(t, x.cols["h"])
			qs := make([][]float32, 50)
			for i := range qs {
				qs[i] = randVec(r, dim)
				if setName == "clustered" {
					qs[i] = vecs[r.IntN(n)]
				}
			}
			rc := recall(t, x, "h", qs, 10, 0)
			t.Logf("%s %s: recall@10 %.3f at the default ef", setName, d, rc)
			if rc < 0.9 {
				t.Errorf("%s %s: recall@10 %.3f, want >= 0.9", setName, d, rc)
			}
		}
	}
}

// TestHNSWDeletesAndUpdates: deleted points are never returned, replaced
// points are found at their new vector only, and the graph is rebuilt
// once dead nodes pile up, keeping its invariants and its recall.
func TestHNSWDeletesAndUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const n, dim = 4000, 32
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = randVec(r, dim)
	}
	x := New(lim(n, 1))
	x.CreateIndexed(ctx, "h", dim, store.Cosine, hnswSpec)
	fillIndex(t, x, "h", vecs)
	c := x.cols["h"]
	// delete every third point, querying with their own vectors
	var del []store.ID
	for i := 0; i < n; i += 3 {
		del = append(del, store.ID{Num: uint64(i)})
	}
	if _, err := x.DeletePoints(ctx, "h", del[:900]); err != nil {
		t.Fatal(err)
	}
	checkGraph(t, c)
	if c.g.dead != 900 {
		t.Fatalf("%d dead nodes, want 900 (no rebuild yet)", c.g.dead)
	}
	gone := map[store.ID]bool{}
	for _, id := range del[:900] {
		gone[id] = true
	}
	for _, id := range del[:900:900][:100] {
		hits, err := x.SearchWith(ctx, "h", vecs[id.Num], 10, nil, store.SearchParams{Ef: 32})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if gone[h.ID] {
				t.Fatalf("deleted point %s returned", h.ID)
			}
		}
		if len(hits) != 10 {
			t.Fatalf("%d hits", len(hits))
		}
	}
	// replace 200 points with new vectors: found at the new one
	var upd []store.Point
	for i := 1; i < 600; i += 3 {
		v := randVec(r, dim)
		vecs[i] = v
		upd = append(upd, store.Point{ID: store.ID{Num: uint64(i)}, Vector: v})
	}
	if err := x.Upsert(ctx, "h", upd); err != nil {
		t.Fatal(err)
	}
	checkGraph(t, c)
	for _, p := range upd[:50] {
		hits, _ := x.SearchWith(ctx, "h", p.Vector, 1, nil, store.SearchParams{Ef: 32})
		if len(hits) != 1 || hits[0].ID != p.ID || hits[0].Score < 0.9999 {
			t.Fatalf("replaced point %s not found at its new vector: %v", p.ID, hits)
		}
	}
	// more deletes pass the rebuild threshold (dead > max(1000, live/2))
	if _, err := x.DeletePoints(ctx, "h", del[900:]); err != nil {
		t.Fatal(err)
	}
	checkGraph(t, c)
	if c.g.dead >= 1000 {
		t.Fatalf("%d dead nodes: no rebuild", c.g.dead)
	}
	for _, id := range del {
		gone[id] = true
	}
	qs := make([][]float32, 40)
	for i := range qs {
		qs[i] = randVec(r, dim)
	}
	for _, q := range qs {
		hits, _ := x.SearchWith(ctx, "h", q, 10, nil, store.SearchParams{Ef: 64})
		for _, h := range hits {
			if gone[h.ID] {
				t.Fatalf("deleted point %s returned after the rebuild", h.ID)
			}
		}
	}
	if rc := recall(t, x, "h", qs, 10, 0); rc < 0.9 {
		t.Fatalf("recall@10 %.3f after deletes and a rebuild", rc)
	}
}

// TestHNSWFilterFallsBackToExact: a filter the graph's candidates cannot
// satisfy (1 point in 100 matches) gets the exact answer; so does a
// collection too small for the graph, and Exact.
func TestHNSWFilterFallsBackToExact(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const n, dim = 3000, 32
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = randVec(r, dim)
	}
	x, flat := New(lim(n, 1)), New(lim(n, 1))
	x.CreateIndexed(ctx, "h", dim, store.Euclid, hnswSpec)
	flat.Create(ctx, "h", dim, store.Euclid)
	fillIndex(t, x, "h", vecs)
	fillIndex(t, flat, "h", vecs)
	for k := 0; k < 30; k++ {
		q := randVec(r, dim)
		f := store.Filter{"m": float64(k)}
		got, err := x.SearchWith(ctx, "h", q, 10, f, store.SearchParams{Ef: 16})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := flat.Search(ctx, "h", q, 10, f)
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 10 {
			t.Fatalf("filter %v: %v\nexact %v", f, got, want)
		}
	}
	// a limit of half the collection or more: the exact scan answers
	q := randVec(r, dim)
	got, _ := x.SearchWith(ctx, "h", q, 1500, nil, store.SearchParams{Ef: 16})
	want, _ := flat.Search(ctx, "h", q, 1500, nil)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("a search for 1500 of 3000 points differs from the exact one")
	}
}

// TestIndexSpecs: defaults, bounds, conflicts and what Info reports.
func TestIndexSpecs(t *testing.T) {
	x := New(lim(100, 10))
	if _, err := x.CreateIndexed(ctx, "h", 4, store.Dot, store.IndexSpec{Type: "HNSW"}); err != nil {
		t.Fatal(err)
	}
	info, _ := x.Info(ctx, "h")
	if *info.Index != (store.IndexSpec{Type: "hnsw", M: 16, EfConstruction: 200}) {
		t.Fatalf("defaults: %+v", info.Index)
	}
	created, err := x.CreateIndexed(ctx, "h", 4, store.Dot, store.IndexSpec{Type: "hnsw", M: 16})
	if created || err != nil {
		t.Fatalf("the same spec again: %v %v", created, err)
	}
	if _, err := x.Create(ctx, "h", 4, store.Dot); !errors.Is(err, store.ErrCollectionConflict) {
		t.Fatalf("flat over hnsw: %v", err)
	}
	for _, bad := range []store.IndexSpec{{Type: "ivf"}, {Type: "hnsw", M: 2}, {Type: "hnsw", M: 65}, {Type: "hnsw", M: 16, EfConstruction: 8},
		{Type: "hnsw", EfConstruction: 5000}, {Type: "flat", M: 16}} {
		if _, err := x.CreateIndexed(ctx, "b", 4, store.Dot, bad); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	info, _ = x.Info(ctx, "h")
	x.Create(ctx, "f", 4, store.Dot)
	info, _ = x.Info(ctx, "f")
	if info.Index.Type != "flat" {
		t.Fatalf("flat: %+v", info.Index)
	}
}

// TestGraphFileRoundTrip: a saved graph attaches to a collection holding
// the same points (and answers as before), and is refused by one whose
// points differ; damage is detected.
func TestGraphFileRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	const n, dim = 2000, 16
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = randVec(r, dim)
	}
	x := New(lim(n, 2))
	x.CreateIndexed(ctx, "h", dim, store.Dot, hnswSpec)
	fillIndex(t, x, "h", vecs)
	x.DeletePoints(ctx, "h", []store.ID{{Num: 5}, {Num: 77}})
	data := graphFile(t, x, 42)
	gs, err := DecodeGraphs(data)
	if err != nil || gs.Stamp != 42 {
		t.Fatalf("decode: %v", err)
	}
	// the same points, loaded flat as a reopen does
	y := New(lim(n, 2))
	y.Create(ctx, "h", dim, store.Dot)
	fillIndex(t, y, "h", vecs)
	y.DeletePoints(ctx, "h", []store.ID{{Num: 5}, {Num: 77}})
	if got := y.AttachGraphs(gs); fmt.Sprint(got) != "[h]" {
		t.Fatalf("attached %v", got)
	}
	checkGraph(t, y.cols["h"])
	for k := 0; k < 20; k++ {
		q := randVec(r, dim)
		a, _ := x.SearchWith(ctx, "h", q, 10, nil, store.SearchParams{Ef: 40})
		b, _ := y.SearchWith(ctx, "h", q, 10, nil, store.SearchParams{Ef: 40})
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("the attached graph answers otherwise:\n%v\n%v", a, b)
		}
	}
	// other points: refused, left flat
	z := New(lim(n, 2))
	z.Create(ctx, "h", dim, store.Dot)
	fillIndex(t, z, "h", vecs[:n-1])
	gs, _ = DecodeGraphs(data)
	if got := z.AttachGraphs(gs); len(got) != 0 || z.cols["h"].g != nil {
		t.Fatalf("attached to other points: %v", got)
	}
	data[len(data)/2] ^= 1
	if _, err := DecodeGraphs(data); err == nil {
		t.Fatal("damage not detected")
	}
}

// BenchmarkHNSWInsert builds an HNSW collection (m 16, ef_construction
// 200, cosine) of 10,000 random points of dimension 384 in batches of 1000
// and reports the insert rate; each iteration builds it anew. The index
// has no bound of unlinked points (MaxUnlinked 0), so each upsert links
// its batch before it returns: this is the link rate, which inserts past
// the bound go at (linker.go). -cpu 1,2
// compares one goroutine with two (a batch is linked on GOMAXPROCS).
//
//	go test -run '^$' -bench HNSWInsert -benchtime 1x -cpu 1,2 ./features/vector/store/memory/
func BenchmarkHNSWInsert(b *testing.B) {
	const n = 10_000
	r := rand.New(rand.NewPCG(61, 62))
	pts := make([]store.Point, n)
	for i := range pts {
		pts[i] = store.Point{ID: store.ID{Num: uint64(i)}, Vector: randVec(r, benchDim)}
	}
	spec := store.IndexSpec{Type: store.IndexHNSW, M: 16, EfConstruction: 200}
	for i := 0; i < b.N; i++ {
		x := New(Limits{MaxPoints: n, MaxCollections: 1, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8})
		if _, err := x.CreateIndexed(ctx, "c", benchDim, store.Cosine, spec); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < n; j += 1000 {
			if err := x.Upsert(ctx, "c", pts[j:j+1000]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "points/s")
}

// sphere returns n points drawn uniformly from the unit sphere in dim
// dimensions (normalized N(0,1) components): data without neighbourhood
// structure, the hardest case for a graph.
func sphere(r *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := randVec(r, dim)
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		s = math.Sqrt(s)
		for j := range v {
			v[j] = float32(float64(v[j]) / s)
		}
		out[i] = v
	}
	return out
}

// sphereSet is TestHNSWRecallMatchesHnswlib's data: 5,000 points and 200
// queries on the unit sphere in 128 dimensions, fixed seed.
func sphereSet() (pts, qs [][]float32) {
	r := rand.New(rand.NewPCG(2027, 1))
	return sphere(r, 5000, 128), sphere(r, 200, 128)
}

// TestHNSWRecallMatchesHnswlib holds the graph to a reference
// implementation on data where graph bugs show (random points on the
// sphere; TestHNSWRecall's clustered sets forgive much). hnswlib 0.6.2
// (the C++ library as Debian packages it, libhnswlib-dev; inner product
// space, M 16, ef_construction 200, points added in order, one thread)
// reaches recall@10 0.659, 0.839 and 0.966 at ef 40, 80 and 160 on these
// points and queries (written to files by a scratch test and read by a
// small C++ program; this graph measured 0.647, 0.840 and 0.965). The
// thresholds are hnswlib's less 0.04. Checked by breaking the code: a
// neighbour heuristic with its comparison reversed (0.215 at ef 40),
// layer 0 capped at m links instead of 2m (0.496), back-links dropped
// when a list is full (0.544) or never made (the graph then misses
// results) all fail it. Answers come from the graph itself, not from the
// exact fallback that Search takes when the graph finds too few.
func TestHNSWRecallMatchesHnswlib(t *testing.T) {
	pts, qs := sphereSet()
	x := New(lim(len(pts), 1))
	if _, err := x.CreateIndexed(ctx, "h", 128, store.Cosine, store.IndexSpec{Type: store.IndexHNSW, M: 16, EfConstruction: 200}); err != nil {
		t.Fatal(err)
	}
	fillIndex(t, x, "h", pts)
	checkGraph(t, x.cols["h"])
	for _, c := range []struct {
		ef        int
		reference float64
	}{{40, 0.659}, {80, 0.839}, {160, 0.966}} {
		found := 0
		for _, q := range qs {
			want, err := x.SearchWith(ctx, "h", q, 10, nil, store.SearchParams{Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			x.mu.RLock()
			col := x.cols["h"]
			got, ok, err := col.graphSearch(col.newSearch(q, 10), nil, c.ef)
			x.mu.RUnlock()
			if err != nil || !ok {
				t.Fatalf("ef %d: the graph found fewer than 10 points (%v)", c.ef, err)
			}
			in := map[store.ID]bool{}
			for _, h := range got {
				in[h.ID] = true
			}
			for _, h := range want {
				if in[h.ID] {
					found++
				}
			}
		}
		rc := float64(found) / float64(10*len(qs))
		t.Logf("recall@10 %.3f at ef %d (hnswlib %.3f)", rc, c.ef, c.reference)
		if rc < c.reference-0.04 {
			t.Errorf("recall@10 %.3f at ef %d, want >= %.3f (hnswlib's less 0.04)", rc, c.ef, c.reference-0.04)
		}
	}
}

// graphFile is x's graphs as the durable store writes them: WriteGraphs'
// bytes, then their CRC.
func graphFile(t *testing.T, x *Index, stamp uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	crc := crc32.New(graphCRC)
	if err := x.WriteGraphs(io.MultiWriter(&buf, crc), func() uint64 { return stamp }); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.AppendUint32(buf.Bytes(), crc.Sum32())
}
