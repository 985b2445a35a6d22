package memory

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// checkLinks asserts the graph's structure: every link list within its
// layer's bound, no link to itself, to a node twice, to a node past the end
// or to a node not on that layer; every live node but a lone one with a
// link on layer 0; the entry on the top layer. It returns how many live
// nodes no search can reach (not linked to from the entry on layer 0): the
// neighbour heuristic prunes the last link into a node now and then, in a
// one-goroutine build as in hnswlib's, so that is counted, not forbidden.
func checkLinks(t *testing.T, c *collection) (unreachable int) {
	t.Helper()
	g := c.g
	nodes := len(g.pos)
	for n := range nodes {
		for l := 0; l <= int(g.level[n]); l++ {
			bound := g.spec.M
			if l == 0 {
				bound = g.m0
			}
			ls := g.links(uint32(n), l)
			if len(ls) > bound {
				t.Fatalf("node %d has %d links on layer %d, bound %d", n, len(ls), l, bound)
			}
			seen := map[uint32]bool{}
			for _, to := range ls {
				switch {
				case int(to) >= nodes:
					t.Fatalf("node %d links to %d of %d nodes", n, to, nodes)
				case to == uint32(n):
					t.Fatalf("node %d links to itself on layer %d", n, l)
				case seen[to]:
					t.Fatalf("node %d links to %d twice on layer %d", n, to, l)
				case int(g.level[to]) < l:
					t.Fatalf("node %d links on layer %d to node %d of level %d", n, l, to, g.level[to])
				}
				seen[to] = true
			}
			if l == 0 && len(ls) == 0 && g.pos[n] >= 0 && len(c.ids) > 1 {
				t.Fatalf("live node %d has no links on layer 0", n)
			}
		}
	}
	if g.top < 0 {
		return 0
	}
	if int(g.level[g.entry]) != g.top {
		t.Fatalf("entry %d has level %d, top is %d", g.entry, g.level[g.entry], g.top)
	}
	reached := make([]bool, nodes)
	reached[g.entry] = true
	queue := []uint32{g.entry}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, to := range g.links(n, 0) {
			if !reached[to] {
				reached[to] = true
				queue = append(queue, to)
			}
		}
	}
	for n, at := range g.pos {
		if at >= 0 && !reached[n] {
			unreachable++
		}
	}
	return unreachable
}

// TestHNSWParallelLinkInvariants links batches on one goroutine and on
// four (forced above this machine's cores, so that the inserts interleave),
// with an id twice in a batch and a point of an earlier batch replaced,
// and checks the structure after each batch (checkLinks), that all but a
// few nodes are reachable and that every point is found at its own vector,
// then the same after a rebuild. Run with -race: while inserts run beside
// each other every link list is read and written under its lock.
func TestHNSWParallelLinkInvariants(t *testing.T) {
	for _, procs := range []int{1, 4} {
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			parallelBuild(t)
		})
	}
}

func parallelBuild(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	const n, dim, batch = 3000, 32, 500
	// clusters without exact duplicates: each point is first for its
	// own vector
	centres := make([][]float32, 30)
	for i := range centres {
		centres[i] = randVec(r, dim)
	}
	vecs := make([][]float32, n)
	for i := range vecs {
		c := centres[r.IntN(len(centres))]
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = c[j] + float32(0.05*r.NormFloat64())
		}
	}
	// each upsert links its batch before it returns (no bound of unlinked
	// points), so that the batches link in parallel as they come
	l := lim(n, 1)
	l.MaxUnlinked = 0
	x := New(l)
	if _, err := x.CreateIndexed(ctx, "h", dim, store.Cosine, store.IndexSpec{Type: store.IndexHNSW, M: 8, EfConstruction: 64}); err != nil {
		t.Fatal(err)
	}
	c := x.cols["h"]
	check := func(when string) {
		t.Helper()
		checkGraph(t, c)
		// the heuristic cuts the last link into a node now and then, in a
		// one-goroutine build too (1 of 3,000 here): a few, not a share
		if u := checkLinks(t, c); u > n/500 {
			t.Fatalf("%s: %d live nodes unreachable", when, u)
		} else if u > 0 {
			t.Logf("%s: %d live nodes unreachable", when, u)
		}
	}
	for i := 0; i < n; i += batch {
		var pts []store.Point
		for j := i; j < i+batch; j++ {
			pts = append(pts, store.Point{ID: store.ID{Num: uint64(j)}, Vector: vecs[j]})
		}
		v := randVec(r, dim)
		pts = append(pts, store.Point{ID: store.ID{Num: uint64(i)}, Vector: v})
		vecs[i] = v
		if i > 0 {
			v := randVec(r, dim)
			pts = append(pts, store.Point{ID: store.ID{Num: uint64(i - 1)}, Vector: v})
			vecs[i-1] = v
		}
		if err := x.Upsert(ctx, "h", pts); err != nil {
			t.Fatal(err)
		}
		x.mu.RLock()
		check(fmt.Sprintf("after %d points", i+batch))
		x.mu.RUnlock()
	}
	own := func(when string) {
		t.Helper()
		missed := 0
		for i, v := range vecs {
			hits, err := x.SearchWith(ctx, "h", v, 1, nil, store.SearchParams{Ef: 64})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].ID.Num != uint64(i) {
				missed++
			}
		}
		if missed > n/500 {
			t.Fatalf("%s: %d of %d points not found at their own vector", when, missed, n)
		}
		t.Logf("%s: %d of %d points not found at their own vector", when, missed, n)
	}
	own("built")
	x.mu.Lock()
	c.rebuildGraph()
	c.linkPending() // a rebuild leaves its nodes to the linker
	check("rebuilt")
	x.mu.Unlock()
	own("rebuilt")
}
