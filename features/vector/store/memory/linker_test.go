package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// unlinkedPair is an HNSW collection whose linker is paused (its points
// stay unlinked until a test links them) and a flat one with the same
// points, the exact reference.
func unlinkedPair(t *testing.T, n, dim int, d store.Distance, seed uint64) (x, flat *Index, vecs [][]float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	vecs = make([][]float32, n)
	for i := range vecs {
		vecs[i] = randVec(r, dim)
	}
	x, flat = New(lim(n, 1)), New(lim(n, 1))
	t.Cleanup(func() { x.Close() })
	x.PauseLinking()
	if _, err := x.CreateIndexed(ctx, "h", dim, d, hnswSpec); err != nil {
		t.Fatal(err)
	}
	if _, err := flat.Create(ctx, "h", dim, d); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 250 {
		var pts []store.Point
		for j := i; j < min(i+250, n); j++ {
			pts = append(pts, store.Point{ID: store.ID{Num: uint64(j)}, Vector: vecs[j], Payload: map[string]any{"m": float64(j % 10)}})
		}
		for _, s := range []*Index{x, flat} {
			if err := s.Upsert(ctx, "h", pts); err != nil {
				t.Fatal(err)
			}
		}
	}
	return x, flat, vecs
}

func indexed(t *testing.T, x *Index) uint64 {
	t.Helper()
	info, err := x.Info(ctx, "h")
	if err != nil || info.IndexedPoints == nil {
		t.Fatalf("info: %+v, %v", info, err)
	}
	return *info.IndexedPoints
}

// TestUnlinkedSearchedExactly: while no point is linked, an HNSW search
// (graph and the scan of the unlinked points) answers exactly what the
// flat scan does, ids, order and scores, with and without a filter, for
// each distance; with half the points linked, every unlinked point is
// found at its own vector, and no answer names a point twice.
func TestUnlinkedSearchedExactly(t *testing.T) {
	for _, d := range []store.Distance{store.Cosine, store.Dot, store.Euclid} {
		t.Run(string(d), func(t *testing.T) {
			const n, dim = 1500, 24
			x, flat, vecs := unlinkedPair(t, n, dim, d, 81)
			if got := indexed(t, x); got != 1 { // the entry needs no links
				t.Fatalf("indexed %d of %d before any linking, want 1", got, n)
			}
			r := rand.New(rand.NewPCG(83, 84))
			for k := 0; k < 20; k++ {
				q := randVec(r, dim)
				var f store.Filter
				if k%2 == 1 {
					f = store.Filter{"m": float64(k % 10)}
				}
				got, err := x.SearchWith(ctx, "h", q, 10, f, store.SearchParams{Ef: 16})
				if err != nil {
					t.Fatal(err)
				}
				want, _ := flat.Search(ctx, "h", q, 10, f)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("unlinked, filter %v:\n%v\nexact %v", f, got, want)
				}
			}
			x.mu.Lock()
			c := x.cols["h"]
			c.linkFirst(n/2, nil)
			unlinked := map[uint64]bool{}
			for _, nd := range c.g.pending {
				if at := c.g.pos[nd]; at >= 0 {
					unlinked[c.ids[at].Num] = true
				}
			}
			x.mu.Unlock()
			if got := indexed(t, x); got != uint64(n-len(unlinked)) || len(unlinked) < n/3 {
				t.Fatalf("indexed %d, %d unlinked, of %d", got, len(unlinked), n)
			}
			for id := range unlinked {
				hits, err := x.SearchWith(ctx, "h", vecs[id], 5, nil, store.SearchParams{Ef: 16})
				if err != nil {
					t.Fatal(err)
				}
				want, _ := flat.Search(ctx, "h", vecs[id], 1, nil)
				if len(hits) != 5 || hits[0].ID != want[0].ID || hits[0].Score != want[0].Score {
					t.Fatalf("unlinked point %d: %v, exact %v", id, hits, want)
				}
				noDuplicates(t, hits)
			}
		})
	}
}

func noDuplicates(t *testing.T, hits []store.Hit) {
	t.Helper()
	seen := map[store.ID]bool{}
	for _, h := range hits {
		if seen[h.ID] {
			t.Fatalf("%s answered twice: %v", h.ID, hits)
		}
		seen[h.ID] = true
	}
}

// TestUnlinkedDeletesAndReplacements: an unlinked point deleted is never
// returned, one replaced is returned only for its new vector (its old
// node is dead, never scanned), the counts follow, and once linked the
// same holds.
func TestUnlinkedDeletesAndReplacements(t *testing.T) {
	const n, dim = 1200, 16
	x, flat, vecs := unlinkedPair(t, n, dim, store.Cosine, 91)
	var del []store.ID
	for i := 1; i < n; i += 4 {
		del = append(del, store.ID{Num: uint64(i)})
	}
	for _, s := range []*Index{x, flat} {
		if _, err := s.DeletePoints(ctx, "h", del); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(93, 94))
	old := map[uint64][]float32{}
	var upd []store.Point
	for i := 2; i < n; i += 4 {
		old[uint64(i)] = vecs[i]
		vecs[i] = randVec(r, dim)
		upd = append(upd, store.Point{ID: store.ID{Num: uint64(i)}, Vector: vecs[i], Payload: map[string]any{"m": float64(i % 10)}})
	}
	for _, s := range []*Index{x, flat} {
		if err := s.Upsert(ctx, "h", upd); err != nil {
			t.Fatal(err)
		}
	}
	live := n - len(del)
	x.mu.RLock()
	g := x.cols["h"].g
	nwait, dead := g.nwait, g.dead
	x.mu.RUnlock()
	// the replaced points' new nodes wait too; the entry (node 0, id 0)
	// was neither deleted nor replaced
	if nwait != live-1 || dead != len(del)+len(upd) || indexed(t, x) != 1 {
		t.Fatalf("%d waiting, %d dead, want %d and %d", nwait, dead, live-1, len(del)+len(upd))
	}
	gone := map[store.ID]bool{}
	for _, id := range del {
		gone[id] = true
	}
	check := func(when string) {
		t.Helper()
		for _, id := range del[:50] {
			hits, _ := x.SearchWith(ctx, "h", vecs[id.Num], 10, nil, store.SearchParams{Ef: 16})
			for _, h := range hits {
				if gone[h.ID] {
					t.Fatalf("%s: deleted point %s returned", when, h.ID)
				}
			}
			noDuplicates(t, hits)
		}
		for _, p := range upd[:50] {
			want, _ := flat.Search(ctx, "h", p.Vector, 3, nil)
			hits, _ := x.SearchWith(ctx, "h", p.Vector, 3, nil, store.SearchParams{Ef: 16})
			if len(hits) != 3 || hits[0].ID != p.ID || hits[0].Score != want[0].Score {
				t.Fatalf("%s: replaced point %s not found at its new vector: %v, exact %v", when, p.ID, hits, want)
			}
			// at its old vector it scores as its new vector does, if at all
			exact := must(flat.SearchWith(ctx, "h", old[p.ID.Num], n, nil, store.SearchParams{}))
			for _, h := range must(x.SearchWith(ctx, "h", old[p.ID.Num], 10, nil, store.SearchParams{Ef: 16})) {
				for _, e := range exact {
					if h.ID == p.ID && e.ID == p.ID && e.Score != h.Score {
						t.Fatalf("%s: replaced point %s scored %v at its old vector, its new one %v", when, p.ID, h.Score, e.Score)
					}
				}
			}
		}
	}
	check("unlinked")
	x.ResumeLinking()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := x.WaitLinked(wctx, "h"); err != nil {
		t.Fatal(err)
	}
	if got := indexed(t, x); got != uint64(live) {
		t.Fatalf("indexed %d of %d after linking", got, live)
	}
	x.mu.RLock()
	checkGraph(t, x.cols["h"])
	x.mu.RUnlock()
	check("linked")
}

func must(h []store.Hit, err error) []store.Hit {
	if err != nil {
		panic(err)
	}
	return h
}

// TestUnlinkedBound: an upsert leaves at most MaxUnlinked points unlinked
// (it links the oldest itself, with no linker running), and never more
// than waited before it when a replay left more.
func TestUnlinkedBound(t *testing.T) {
	const dim, bound = 8, 100
	r := rand.New(rand.NewPCG(101, 102))
	l := lim(10_000, 1)
	l.MaxUnlinked = bound
	x := New(l)
	defer x.Close()
	x.PauseLinking()
	if _, err := x.CreateIndexed(ctx, "h", dim, store.Euclid, hnswSpec); err != nil {
		t.Fatal(err)
	}
	nwait := func() int {
		x.mu.RLock()
		defer x.mu.RUnlock()
		return x.cols["h"].g.nwait
	}
	id := uint64(0)
	batch := func(k int) []store.Point {
		var pts []store.Point
		for range k {
			pts = append(pts, store.Point{ID: store.ID{Num: id}, Vector: randVec(r, dim)})
			id++
		}
		return pts
	}
	for i := range 8 {
		if err := x.Upsert(ctx, "h", batch(60)); err != nil {
			t.Fatal(err)
		}
		want := min(60*(i+1)-1, bound) // the first point is the entry
		if got := nwait(); got != want {
			t.Fatalf("after %d upserts of 60: %d unlinked, want %d", i+1, got, want)
		}
	}
	// a replay (Apply) is not bounded: it leaves 100 + 300
	recs := make([]Record, 0, 300)
	for _, p := range batch(300) {
		recs = append(recs, Record{ID: p.ID, Vector: p.Vector})
	}
	if err := x.Apply(&Op{Kind: OpUpsert, Collection: "h", Points: recs}); err != nil {
		t.Fatal(err)
	}
	if got := nwait(); got != bound+300 {
		t.Fatalf("after a replay of 300: %d unlinked, want %d", got, bound+300)
	}
	// an upsert then links as many as it adds
	if err := x.Upsert(ctx, "h", batch(50)); err != nil {
		t.Fatal(err)
	}
	if got := nwait(); got != bound+300 {
		t.Fatalf("an upsert after the replay left %d unlinked, want %d", got, bound+300)
	}
	// bound 0: every upsert is linked before it returns
	y := New(lim(1000, 1))
	y.lim.MaxUnlinked = 0
	defer y.Close()
	y.PauseLinking()
	y.CreateIndexed(ctx, "h", dim, store.Euclid, hnswSpec)
	if err := y.Upsert(ctx, "h", batch(70)); err != nil {
		t.Fatal(err)
	}
	if info, _ := y.Info(ctx, "h"); *info.IndexedPoints != 70 {
		t.Fatalf("bound 0: %d of 70 linked", *info.IndexedPoints)
	}
}

// TestLinkerCloseAndWait: WaitLinked follows the linker; Close stops it
// within a chunk, after which WaitLinked says why it cannot wait, nothing
// runs, and upserts still link past the bound themselves.
func TestLinkerCloseAndWait(t *testing.T) {
	const n, dim = 3000, 16
	x, _, vecs := unlinkedPair(t, n, dim, store.Cosine, 111)
	if err := x.WaitLinked(ctx, "h"); !errors.Is(err, errNoLinker) {
		t.Fatalf("paused: WaitLinked said %v", err)
	}
	if err := x.WaitLinked(ctx, "nope"); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Fatalf("unknown collection: %v", err)
	}
	x.mu.RLock()
	ch := x.lk.progress
	x.mu.RUnlock()
	x.ResumeLinking()
	<-ch // one chunk linked, then close halfway
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x.mu.RLock()
	running, nwait := x.lk.running, x.cols["h"].g.nwait
	x.mu.RUnlock()
	if running {
		t.Fatal("the linker runs after Close")
	}
	t.Logf("closed with %d of %d unlinked", nwait, n)
	if nwait > 0 {
		if err := x.WaitLinked(ctx, "h"); !errors.Is(err, errNoLinker) {
			t.Fatalf("closed: WaitLinked said %v", err)
		}
	}
	// after Close an upsert still keeps the backlog from growing: it
	// links as many as it adds, past the bound
	x.mu.Lock()
	x.lim.MaxUnlinked = 50
	x.mu.Unlock()
	if err := x.Upsert(ctx, "h", []store.Point{{ID: store.ID{Num: 0}, Vector: vecs[1]}, {ID: store.ID{Num: 1}, Vector: vecs[2]}}); err != nil {
		t.Fatal(err)
	}
	x.mu.RLock()
	after := x.cols["h"].g.nwait
	x.mu.RUnlock()
	if after > nwait {
		t.Fatalf("after Close an upsert left %d unlinked, %d before", after, nwait)
	}
	// a flat collection is linked at once
	flatIdx := New(lim(10, 1))
	flatIdx.Create(ctx, "f", 2, store.Dot)
	if err := flatIdx.WaitLinked(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if info, _ := flatIdx.Info(ctx, "f"); info.IndexedPoints != nil {
		t.Fatalf("flat collection reports indexed points %d", *info.IndexedPoints)
	}
}

// TestLinkerRacesSearches runs the linker beside searches, upserts
// (replacements included) and deletes; under -race this checks that every
// read of the graph is under the read lock and every chunk under the
// write lock. Every answer is full, names no point twice, and never a
// deleted one; an upserted point is found at its own vector as soon as its
// upsert returns (exactly, as unlinked, or by the graph).
func TestLinkerRacesSearches(t *testing.T) {
	const dim = 16
	n := 4000
	if testing.Short() {
		n = 1500
	}
	r := rand.New(rand.NewPCG(121, 122))
	l := lim(2*n, 1)
	l.MaxUnlinked = 500
	x := New(l)
	defer x.Close()
	if _, err := x.CreateIndexed(ctx, "h", dim, store.Cosine, store.IndexSpec{Type: store.IndexHNSW, M: 8, EfConstruction: 64}); err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = randVec(r, dim)
	}
	var (
		mu      sync.Mutex
		deleted = map[store.ID]bool{}
		wg      sync.WaitGroup
		done    = make(chan struct{})
		started = make(chan struct{}) // the first batch is in: answers are full
		failMu  sync.Mutex
		failure error
	)
	fail := func(err error) {
		failMu.Lock()
		defer failMu.Unlock()
		if failure == nil {
			failure = err
		}
	}
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(w), 7))
			<-started
			for {
				select {
				case <-done:
					return
				default:
				}
				// what was deleted before the search began
				mu.Lock()
				gone := maps.Clone(deleted)
				mu.Unlock()
				hits, err := x.SearchWith(ctx, "h", randVec(rr, dim), 10, nil, store.SearchParams{Ef: 32})
				if err != nil {
					fail(err)
					return
				}
				seen := map[store.ID]bool{}
				for _, h := range hits {
					if seen[h.ID] || gone[h.ID] {
						fail(fmt.Errorf("answer %v names %s twice or deleted", hits, h.ID))
					}
					seen[h.ID] = true
				}
				if len(hits) != 10 {
					fail(fmt.Errorf("answer %v not full", hits))
				}
			}
		}()
	}
	missed := 0
	for i := 0; i < n; i += 100 {
		var pts []store.Point
		for j := i; j < i+100; j++ {
			pts = append(pts, store.Point{ID: store.ID{Num: uint64(j)}, Vector: vecs[j]})
		}
		if i >= 200 { // a replacement of a point that may still be unlinked
			k := i - 150
			vecs[k] = randVec(r, dim)
			pts = append(pts, store.Point{ID: store.ID{Num: uint64(k)}, Vector: vecs[k]})
		}
		if err := x.Upsert(ctx, "h", pts); err != nil {
			close(done)
			t.Fatal(err)
		}
		if i == 0 {
			close(started)
		}
		// found at once, unlinked or not
		for _, j := range []int{i, i + 99, max(0, i-150)} {
			hits, err := x.SearchWith(ctx, "h", vecs[j], 1, nil, store.SearchParams{Ef: 64})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].ID.Num != uint64(j) {
				mu.Lock()
				gone := deleted[store.ID{Num: uint64(j)}]
				mu.Unlock()
				if !gone {
					// unlinked it is found exactly; linked meanwhile, the
					// graph misses one now and then, as in parallelBuild
					missed++
					t.Logf("point %d not found at its own vector right after its upsert: %v", j, hits)
				}
			}
		}
		if i%500 == 400 {
			// ids no later batch replaces (those are 50 mod 100)
			del := []store.ID{{Num: uint64(i - 10)}, {Num: uint64(i + 60)}}
			if _, err := x.DeletePoints(ctx, "h", del); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			for _, id := range del {
				deleted[id] = true
			}
			mu.Unlock()
		}
		x.mu.RLock()
		if w := x.cols["h"].g.nwait; w > 500 {
			t.Errorf("%d unlinked after an upsert, bound 500", w)
		}
		x.mu.RUnlock()
	}
	if missed > n/500 {
		t.Errorf("%d points not found at their own vector right after their upsert", missed)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := x.WaitLinked(wctx, "h"); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	info, _ := x.Info(ctx, "h")
	if *info.IndexedPoints != info.Points {
		t.Fatalf("indexed %d of %d after WaitLinked", *info.IndexedPoints, info.Points)
	}
	x.mu.RLock()
	checkGraph(t, x.cols["h"])
	if u := checkLinks(t, x.cols["h"]); u > n/500 {
		t.Errorf("%d live nodes unreachable once all were linked", u)
	}
	x.mu.RUnlock()
}

// TestGraphFileUnlinked: a graph saved with unlinked nodes records them;
// attached, it answers as the saved one did, and the linker links them.
// A version 1 file (before deferred linking) still decodes.
func TestGraphFileUnlinked(t *testing.T) {
	const n, dim = 1500, 16
	x, flat, _ := unlinkedPair(t, n, dim, store.Dot, 131)
	x.mu.Lock()
	x.cols["h"].linkFirst(700, nil)
	x.mu.Unlock()
	x.DeletePoints(ctx, "h", []store.ID{{Num: 5}, {Num: 1400}}) // one linked, one not (in insert order)
	flat.DeletePoints(ctx, "h", []store.ID{{Num: 5}, {Num: 1400}})
	data := graphFile(t, x, 7)
	gs, err := DecodeGraphs(data)
	if err != nil {
		t.Fatal(err)
	}
	// flat holds the same points in the same order: attach to it
	flat.PauseLinking()
	if got := flat.AttachGraphs(gs); fmt.Sprint(got) != "[h]" {
		t.Fatalf("attached %v", got)
	}
	if a, b := indexed(t, x), indexed(t, flat); a != b || a == uint64(n-2) {
		t.Fatalf("indexed %d saved, %d attached", a, b)
	}
	r := rand.New(rand.NewPCG(133, 134))
	for k := 0; k < 20; k++ {
		q := randVec(r, dim)
		a, _ := x.SearchWith(ctx, "h", q, 10, nil, store.SearchParams{Ef: 40})
		b, _ := flat.SearchWith(ctx, "h", q, 10, nil, store.SearchParams{Ef: 40})
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("the attached graph answers otherwise:\n%v\n%v", a, b)
		}
	}
	flat.ResumeLinking()
	defer flat.Close()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := flat.WaitLinked(wctx, "h"); err != nil {
		t.Fatal(err)
	}
	if got := indexed(t, flat); got != n-2 {
		t.Fatalf("indexed %d of %d after linking", got, n-2)
	}
	flat.mu.RLock()
	checkGraph(t, flat.cols["h"])
	flat.mu.RUnlock()
	// version 1: the same file without the unlinked list, from a graph
	// with none
	y, _, _ := unlinkedPair(t, 300, dim, store.Dot, 135)
	y.mu.Lock()
	y.cols["h"].linkPending()
	y.mu.Unlock()
	var buf bytes.Buffer
	if err := y.WriteGraphs(&buf, func() uint64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	copy(b, graphMagicV1)
	// drop the u32 unlinked count (0) after the header of the one collection
	at := len(graphMagic) + 8 + 4 + 2 + 1 + 7*4 + 8
	if binary.LittleEndian.Uint32(b[at:]) != 0 {
		t.Fatal("layout: no zero unlinked count where expected")
	}
	v1 := append(append([]byte{}, b[:at]...), b[at+4:]...)
	v1 = binary.LittleEndian.AppendUint32(v1, crc32.Checksum(v1, graphCRC))
	if gs, err := DecodeGraphs(v1); err != nil || gs.cols["h"].g.nwait != 0 {
		t.Fatalf("version 1 file: %v", err)
	}
}

// TestLinkerStopsForAChange: while a change waits for the lock, the
// linker's one-node insert gives up writing nothing, and a chunk linked in
// parallel takes no insert (a client's next batch waited for whole chunks
// before); once none waits, either links whole, and the scratch that gave
// up links fully afterwards (it once kept giving up, and the nodes it left
// were counted linked).
func TestLinkerStopsForAChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		k     int
		procs int // GOMAXPROCS: 2 takes the parallel path for a chunk
		seed  uint64
	}{{"insert", 1, runtime.GOMAXPROCS(0), 141}, {"chunk", linkChunk, 2, 143}} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			x, _, _ := unlinkedPair(t, 400, 8, store.Cosine, tc.seed)
			x.mu.Lock()
			defer x.mu.Unlock()
			c := x.cols["h"]
			before := fmt.Sprint(c.g.links0, c.g.pending)
			x.lk.wanting.Store(1)
			c.linkFirst(tc.k, &x.lk.wanting)
			if after := fmt.Sprint(c.g.links0, c.g.pending); after != before || c.g.nwait != 399 {
				t.Fatalf("linking went on while a change waited: %d waiting", c.g.nwait)
			}
			x.lk.wanting.Store(0)
			c.linkFirst(tc.k, &x.lk.wanting)
			if want := 399 - tc.k; c.g.nwait != want || len(c.g.pending) != want {
				t.Fatalf("%d waiting (%d pending) after %d linked, want %d", c.g.nwait, len(c.g.pending), tc.k, want)
			}
			x.lk.wanting.Store(1)
			c.linkFirst(tc.k, &x.lk.wanting)
			x.lk.wanting.Store(0)
			c.linkPending()
			checkGraph(t, c)
			if u := checkLinks(t, c); c.g.nwait != 0 || u > 2 {
				t.Fatalf("%d waiting, %d of 400 unreachable after linking all", c.g.nwait, u)
			}
		})
	}
}

// TestInfoStopsAChunk: Info, which the points route asks before each
// upsert, counts as a change waiting for the lock, so a chunk being linked
// stops for it (TestLinkerStopsForAChange) instead of making it wait.
func TestInfoStopsAChunk(t *testing.T) {
	x, _, _ := unlinkedPair(t, 50, 8, store.Cosine, 145)
	x.mu.Lock() // as the linker holds it through a chunk
	locked := true
	defer func() {
		if locked { // the test failed holding it
			x.mu.Unlock()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := x.Info(ctx, "h")
		done <- err
	}()
	waitfor.True(t, 10*time.Second, "Info to be counted as waiting", func() bool { return x.lk.wanting.Load() == 1 })
	x.mu.Unlock()
	locked = false
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := x.lk.wanting.Load(); w != 0 {
		t.Fatalf("%d still counted waiting after Info", w)
	}
}

// TestLinkerKeepsToOneNode: once a search or a change came, the linker
// takes one node at a time (one goroutine, a core left to requests) until
// linkQuiet has passed without another, then chunks on every core again.
// It went back to chunks as soon as it had linked one node, and a client's
// next batch then waited for the runtime to poll the network.
func TestLinkerKeepsToOneNode(t *testing.T) {
	var lk linker
	t0 := time.Unix(1_000_000, 0)
	if k := lk.chunk(t0); k != linkChunk {
		t.Fatalf("nothing asked: chunk %d, want %d", k, linkChunk)
	}
	lk.asks.Add(1) // a search
	for _, d := range []time.Duration{0, time.Millisecond, linkQuiet / 2, linkQuiet - time.Nanosecond} {
		if k := lk.chunk(t0.Add(linkQuiet + d)); k != 1 {
			t.Fatalf("%v after a search: chunk %d, want 1", d, k)
		}
	}
	if k := lk.chunk(t0.Add(2 * linkQuiet)); k != linkChunk {
		t.Fatalf("%v after the last search: chunk %d, want %d", linkQuiet, k, linkChunk)
	}
	lk.asks.Add(1) // a change restarts the quiet
	if k := lk.chunk(t0.Add(3 * linkQuiet)); k != 1 {
		t.Fatalf("right after a change: chunk %d, want 1", k)
	}
}
