package durable

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
	"github.com/advanced-backend/advanced-backend/internal/testkit/proccpu"
)

// BenchmarkIndexes is the index benchmark of BUILD.md: for each dataset
// (random and clustered, dimension 384, fixed seeds) and each index (flat,
// hnsw m 16 ef_construction 200) it reports, in memory, the insert rate
// acknowledged (batches of 100; for hnsw also that of the first
// -index.unlinked points, the burst before upserts wait for the linker)
// and the build time until every point is linked; durably the same
// (batches of 100, an fsync each); reopen time and heap per point in a fresh process, p50/p99 query
// latency (top 10, one goroutine, default ef; for hnsw also at ef 400 and
// 1600) and recall@10 against the exact search; for flat also the plain
// float32 scan (the floor). Run it once per size:
//
//	go test -run '^$' -bench BenchmarkIndexes -benchtime 1x -timeout 0 ./features/vector/store/durable -index.n 100000
//
// -index.once builds each index only once, durably, for sizes where an
// HNSW build takes long (a million points); -index.keep DIR keeps the
// durable store it built, so that the reopen can be run again alone:
//
//	go test -run TestReopenChild ./features/vector/store/durable -index.reopen DIR/clustered-hnsw-1000000
var (
	benchN        = flag.Int("index.n", 100_000, "BenchmarkIndexes: points per dataset")
	benchQueries  = flag.Int("index.queries", 200, "BenchmarkIndexes: queries per dataset")
	benchSets     = flag.String("index.sets", "random,clustered", "BenchmarkIndexes: datasets")
	benchTypes    = flag.String("index.types", "flat,hnsw", "BenchmarkIndexes: indexes")
	benchOnce     = flag.Bool("index.once", false, "BenchmarkIndexes: build each index once, in the durable store (build time then counts its log writes and fsyncs), instead of in memory and then again durably")
	benchKeep     = flag.String("index.keep", "", "BenchmarkIndexes: build the durable store in DIR/SET-INDEX-N (which must not exist) and keep it, so that its reopen can be measured again: go test -run TestReopenChild -index.reopen DIR/SET-INDEX-N")
	reopenDir     = flag.String("index.reopen", "", "internal: the child process of BenchmarkIndexes reopens this directory")
	benchUnlinked = flag.Int("index.unlinked", memory.DefaultMaxUnlinked, "BenchmarkIndexes: the bound of unlinked hnsw points (VECTOR_HNSW_MAX_UNLINKED)")
	reopenProf    = flag.String("index.reopenprofile", "", "BenchmarkIndexes: the reopen child writes a CPU profile to this file (the last reopen's)")
	reopenQueries = flag.String("index.reopenqueries", "", "TestReopenChild: after the reopen, time the -index.queries queries of this dataset (of -index.n points) against the reopened store, the graph whole, nothing else running")
)

const benchDim = 384

// dataset returns n points and the queries, from fixed seeds. Clustered:
// n/100 centres with N(0,1) components, points and queries at N(0,0.3)
// around a random centre.
func dataset(name string, n, nq int) (pts, qs [][]float32) {
	r := rand.New(rand.NewPCG(2026, uint64(len(name))))
	gen := func(k int) [][]float32 {
		out := make([][]float32, k)
		slab := make([]float32, k*benchDim)
		for i := range out {
			out[i] = slab[i*benchDim : (i+1)*benchDim : (i+1)*benchDim]
			for j := range out[i] {
				out[i][j] = float32(r.NormFloat64())
			}
		}
		return out
	}
	if name == "random" {
		return gen(n), gen(nq)
	}
	centres := gen(max(1, n/100))
	around := func(k int) [][]float32 {
		out := gen(k)
		for _, v := range out {
			c := centres[r.IntN(len(centres))]
			for j := range v {
				v[j] = c[j] + 0.3*v[j]
			}
		}
		return out
	}
	return around(n), around(nq)
}

func batchOf(vecs [][]float32, from, n int) []store.Point {
	p := make([]store.Point, 0, n)
	for i := from; i < min(from+n, len(vecs)); i++ {
		p = append(p, store.Point{ID: store.ID{Num: uint64(i)}, Vector: vecs[i]})
	}
	return p
}

func specOf(typ string) store.IndexSpec {
	if typ == "hnsw" {
		return store.IndexSpec{Type: store.IndexHNSW, M: 16, EfConstruction: 200}
	}
	return store.IndexSpec{Type: store.IndexFlat}
}

func pct(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// floorScan is the plain float32 scan with a top-10, norms precomputed
// (the floor the quantized scan is measured against).
func floorScan(vecs [][]float32, norms []float32, q []float32) []int {
	var qn float64
	for _, x := range q {
		qn += float64(x) * float64(x)
	}
	type hit struct {
		i int
		s float32
	}
	top := make([]hit, 0, 11)
	for i, v := range vecs {
		var d float32
		for j := range q {
			d += q[j] * v[j]
		}
		s := d / norms[i]
		if len(top) < 10 || s > top[len(top)-1].s {
			top = append(top, hit{i, s})
			slices.SortFunc(top, func(a, b hit) int { return cmpF(b.s, a.s) })
			top = top[:min(10, len(top))]
		}
	}
	out := make([]int, len(top))
	for i, h := range top {
		out[i] = h.i
	}
	return out
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func BenchmarkIndexes(b *testing.B) {
	lim := memory.Limits{MaxPoints: 1 << 30, MaxCollections: 4, MaxBytes: 1 << 40, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8, MaxUnlinked: *benchUnlinked}
	for _, set := range strings.Split(*benchSets, ",") {
		vecs, qs := dataset(set, *benchN, *benchQueries)
		for _, typ := range strings.Split(*benchTypes, ",") {
			b.Run(fmt.Sprintf("%s/%s/n=%d", set, typ, *benchN), func(b *testing.B) {
				spec := specOf(typ)
				// build in memory, batches of 1000 (or durably, -index.once)
				var m0, m1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m0)
				var x searcher
				var s *Store
				dir := b.TempDir()
				if *benchKeep != "" {
					dir = filepath.Join(*benchKeep, fmt.Sprintf("%s-%s-%d", set, typ, *benchN))
					// a kept directory is never built into twice: its figures
					// would mix two builds
					if err := os.MkdirAll(*benchKeep, 0o755); err != nil {
						b.Fatal(err)
					}
					if err := os.Mkdir(dir, 0o755); err != nil {
						b.Fatalf("-index.keep: %v", err)
					}
				}
				start := time.Now()
				if *benchOnce {
					s = durableBuild(b, dir, lim, spec, vecs)
					x = s
				} else {
					mx := memory.New(lim)
					defer mx.Close()
					if _, err := mx.CreateIndexed(ctx, "c", benchDim, store.Cosine, spec); err != nil {
						b.Fatal(err)
					}
					for i := 0; i < len(vecs); i += 100 {
						if err := mx.Upsert(ctx, "c", batchOf(vecs, i, 100)); err != nil {
							b.Fatal(err)
						}
						if i+100 == lim.MaxUnlinked {
							burst := time.Since(start)
							b.ReportMetric(float64(i+100)/burst.Seconds(), "burst-points/s")
						}
					}
					acked := time.Since(start)
					b.ReportMetric(float64(len(vecs))/acked.Seconds(), "insert-points/s")
					// hnsw: the linker finishes what the upserts left
					if err := mx.WaitLinked(ctx, "c"); err != nil {
						b.Fatal(err)
					}
					x = mx
				}
				build := time.Since(start)
				runtime.GC()
				runtime.ReadMemStats(&m1)
				b.ReportMetric(build.Seconds(), "build-s")
				if *benchOnce {
					b.ReportMetric(float64(len(vecs))/build.Seconds(), "insert-points/s")
				}
				b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(len(vecs)), "heap-bytes/point")
				b.Logf("built in %.1f s at %s", build.Seconds(), time.Now().UTC().Format(time.TimeOnly))
				// queries: latency of the index's answer, recall against exact
				norms := make([]float32, len(vecs))
				for i, v := range vecs {
					var n float64
					for _, x := range v {
						n += float64(x) * float64(x)
					}
					norms[i] = float32(math.Sqrt(n))
				}
				var lat, exactLat, floorLat []time.Duration
				found, total := 0, 0
				exact := make([][]store.Hit, len(qs)) // each query's exact answer, for every ef

				for i, q := range qs {
					t0 := time.Now()
					got, err := x.Search(ctx, "c", q, 10, nil)
					lat = append(lat, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					t0 = time.Now()
					want, err := x.SearchWith(ctx, "c", q, 10, nil, store.SearchParams{Exact: true})
					exactLat = append(exactLat, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					exact[i] = want
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
					if typ == "flat" && i < 20 { // the floor is slow: 20 queries
						t0 = time.Now()
						fl := floorScan(vecs, norms, q)
						floorLat = append(floorLat, time.Since(t0))
						for k := range fl {
							if k < len(want) && want[k].ID.Num != uint64(fl[k]) && math.Abs(float64(want[k].Score)-float64(want[min(k+1, len(want)-1)].Score)) > 1e-6 {
								b.Logf("query %d: float32 scan rank %d is %d, exact %s (float32 rounding)", i, k, fl[k], want[k].ID)
							}
						}
					}
				}
				b.ReportMetric(pct(lat, 0.5), "p50-ms")
				b.ReportMetric(pct(lat, 0.99), "p99-ms")
				b.ReportMetric(pct(exactLat, 0.5), "exact-p50-ms")
				b.ReportMetric(float64(found)/float64(total), "recall@10")
				if typ == "hnsw" { // the same queries with more candidates
					for _, ef := range []int{400, 1600} {
						var efLat []time.Duration
						found, total := 0, 0
						for i, q := range qs {
							t0 := time.Now()
							got, _ := x.SearchWith(ctx, "c", q, 10, nil, store.SearchParams{Ef: ef})
							efLat = append(efLat, time.Since(t0))
							want := exact[i]
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
						b.ReportMetric(pct(efLat, 0.5), fmt.Sprintf("ef%d-p50-ms", ef))
						b.ReportMetric(float64(found)/float64(total), fmt.Sprintf("ef%d-recall@10", ef))
					}
				}
				if len(floorLat) > 0 {
					b.ReportMetric(pct(floorLat, 0.5), "float32-scan-p50-ms")
				}
				if s == nil {
					x = nil
					runtime.GC()
					s = durableBuild(b, dir, lim, spec, vecs)
				}
				if err := s.Compact(); err != nil {
					b.Fatal(err)
				}
				s.Close()
				child := reopenChild(b, dir)
				b.ReportMetric(child.TookMS/1000, "reopen-s")
				b.ReportMetric(child.CPUMS/1000, "reopen-cpu-s")
				b.ReportMetric(child.HeapPerPoint, "reopen-heap-bytes/point")
				b.Logf("reopen: graphs read %v, built %v", child.Graphs, child.Built)
				if child.Points != len(vecs) {
					b.Fatalf("the fresh process found %d points, want %d", child.Points, len(vecs))
				}
			})
		}
	}
}

// searcher is what the queries need: an index in memory or a durable
// store.
type searcher interface {
	Search(ctx context.Context, name string, q []float32, limit int, f store.Filter) ([]store.Hit, error)
	SearchWith(ctx context.Context, name string, q []float32, limit int, f store.Filter, p store.SearchParams) ([]store.Hit, error)
}

// durableBuild writes vecs into a durable store in dir in batches of 100,
// an fsync each, and reports the rate acknowledged (durable-points/s),
// that of the first lim.MaxUnlinked points (the burst the bound of
// unlinked points lets through before upserts wait for linking), and the
// time until every point is linked.
func durableBuild(b *testing.B, dir string, lim memory.Limits, spec store.IndexSpec, vecs [][]float32) *Store {
	s, err := Open(ctx, Options{Dir: dir, Limits: lim})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateIndexed(ctx, "c", benchDim, store.Cosine, spec); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < len(vecs); i += 100 {
		if err := s.Upsert(ctx, "c", batchOf(vecs, i, 100)); err != nil {
			b.Fatal(err)
		}
		if i+100 == min(len(vecs), lim.MaxUnlinked) {
			b.ReportMetric(float64(i+100)/time.Since(start).Seconds(), "durable-burst-points/s")
		}
	}
	b.ReportMetric(float64(len(vecs))/time.Since(start).Seconds(), "durable-points/s")
	// the graph whole before the compaction and the reopen, which then
	// measure a linked graph as before
	if err := s.WaitLinked(ctx, "c"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "durable-linked-s")
	return s
}

type childReport struct {
	TookMS float64 `json:"took_ms"`
	// CPUMS is the CPU time the reopen took, user and system (getrusage;
	// the runtime's estimate elsewhere): on a shared machine the wall time
	// above also counts waiting for a core.
	CPUMS        float64 `json:"cpu_ms"`
	Points       int     `json:"points"`
	HeapPerPoint float64 `json:"heap_per_point"`
	// Graphs and Built name the collections whose graph the reopen read
	// from the graph file, and those it had to build
	Graphs []string `json:"graphs"`
	Built  []string `json:"built"`
}

// reopenChild runs this test binary again to open dir: a fresh process,
// as a restart is.
func reopenChild(b *testing.B, dir string) childReport {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"-test.run=^TestReopenChild$", "-index.reopen=" + dir}
	if *reopenProf != "" {
		args = append(args, "-test.cpuprofile="+*reopenProf)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("reopen child: %v\n%s", err, out.String())
	}
	_, line, ok := strings.Cut(out.String(), "REOPEN ")
	line, _, _ = strings.Cut(line, "\n")
	var rep childReport
	if !ok || json.Unmarshal([]byte(line), &rep) != nil {
		b.Fatalf("reopen child said:\n%s", out.String())
	}
	return rep
}

// TestReopenChild is the child of BenchmarkIndexes (skipped otherwise): it
// opens -index.reopen, answers one search, and reports on stdout.
func TestReopenChild(t *testing.T) {
	if *reopenDir == "" {
		t.Skip("only as BenchmarkIndexes' child process")
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := proccpu.Used()
	start := time.Now()
	s, err := Open(ctx, Options{Dir: *reopenDir, Limits: memory.Limits{MaxPoints: 1 << 30, MaxCollections: 4, MaxBytes: 1 << 40, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8}})
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float32, benchDim)
	q[0] = 1
	if _, err := s.Search(ctx, "c", q, 10, nil); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	cpu := (proccpu.Used() - cpu0).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	rep := childReport{TookMS: float64(took.Microseconds()) / 1000, CPUMS: cpu * 1000, Points: s.Len(),
		HeapPerPoint: float64(m1.HeapAlloc-m0.HeapAlloc) / float64(max(1, s.Len())), Graphs: s.Loaded().Graphs, Built: s.Loaded().Built}
	b, _ := json.Marshal(rep)
	fmt.Printf("REOPEN %s\n", b)
	if *reopenQueries != "" {
		// the benchmark's own query timing runs beside the exact answers
		// it checks recall against (a float64 scan of every point, 0.3 s
		// at a million) and, with -index.once, the compaction the build
		// started: this times the queries alone, on a store reopened
		if err := s.WaitLinked(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		_, qs := dataset(*reopenQueries, *benchN, *benchQueries)
		for round := range 2 { // the first also brings the graph into the caches
			var lat []time.Duration
			for _, q := range qs {
				t0 := time.Now()
				if _, err := s.Search(ctx, "c", q, 10, nil); err != nil {
					t.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			fmt.Printf("QUERIES round %d: p50 %.3f ms, p99 %.3f ms\n", round, pct(lat, 0.5), pct(lat, 0.99))
		}
	}
	s.Close()
}
