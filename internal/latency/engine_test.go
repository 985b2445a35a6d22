package latency

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeClock is the injectable clock of the window tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testRoutes = []Route{{"GET", "/health"}, {"GET", "/items/:id"}, {"POST", "/items"}}

// newTestEngine builds an engine over a fake clock: window 100 s in ten
// sub-windows of 10 s, the reservoir estimator (exact below 2048 values,
// so expected quantiles can be computed exactly), the ticker far away so
// only Flush, reads and half-full shards ingest.
func newTestEngine(t *testing.T, mod func(*Options)) (*Engine, *fakeClock, *prometheus.Registry) {
	t.Helper()
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	o := Options{Window: 100 * time.Second, SubWindows: 10, Alpha: 0.5, FlushInterval: time.Hour,
		Estimator: Reservoir(DefaultReservoirSize, "test"), Now: clk.Now, Metrics: reg}
	if mod != nil {
		mod(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if err := e.SetRoutes(testRoutes); err != nil {
		t.Fatal(err)
	}
	return e, clk, reg
}

func record(t *testing.T, e *Engine, method, path string, status int, values ...float64) {
	t.Helper()
	id := e.Resolve(method, path)
	for _, v := range values {
		if err := e.Record(id, status, v); err != nil {
			t.Fatal(err)
		}
	}
}

func seq(from, to float64) []float64 {
	var out []float64
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

func exactOf(values []float64, q float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return exactQuantile(s, q)
}

func quantiles(t *testing.T, e *Engine, route string, extra ...float64) QuantileReport {
	t.Helper()
	r, err := e.Quantiles(extra, route)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("quantile report does not marshal: %v", err)
	}
	if strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Inf") {
		t.Fatalf("NaN in %s", b)
	}
	return r
}

func TestEstimatorsRejectNaNAndInf(t *testing.T) {
	for name, f := range testFactories(t) {
		est := f()
		if !math.IsNaN(est.Quantile(0.5)) || est.Count() != 0 {
			t.Errorf("%s: empty estimator gave %v", name, est.Quantile(0.5))
		}
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			if err := est.Add(v); !errors.Is(err, ErrNotFinite) {
				t.Errorf("%s: Add(%v) = %v", name, v, err)
			}
		}
		if est.Count() != 0 {
			t.Errorf("%s: rejected values were counted", name)
		}
		_ = est.Add(3)
		if est.Quantile(0.5) != 3 || est.Count() != 1 {
			t.Errorf("%s: one value: %v", name, est.Quantile(0.5))
		}
	}
}

func TestRecordRejectsNaNInfNegative(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	id := e.Resolve("GET", "/health")
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1} {
		if err := e.Record(id, 200, v); err == nil {
			t.Errorf("Record(%v) accepted", v)
		}
	}
	if e.Rejected() != 4 {
		t.Fatalf("rejected %d", e.Rejected())
	}
	r := quantiles(t, e, "GET /health")
	st := r.Routes["GET /health"]
	if st["count"] != uint64(0) || st["p50"] != nil || st["p99"] != nil || st["error_rate"] != nil || r.Overall["p95"] != nil {
		t.Fatalf("empty route: %v overall %v", st, r.Overall)
	}
}

func TestReservoirExactBelowCapacityAndInTail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	small := make([]float64, 1500)
	for i := range small {
		small[i] = r.ExpFloat64() * 30
	}
	a, b := newReservoir(2048, 1), newReservoir(2048, 2)
	for i, v := range small {
		if i%2 == 0 {
			_ = a.Add(v)
		} else {
			_ = b.Add(v)
		}
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		if got, want := a.Quantile(q), exactOf(small, q); math.Abs(got-want) > 1e-9 {
			t.Errorf("below capacity q=%v: %v want %v", q, got, want)
		}
	}
	big := make([]float64, 300_000)
	c := newReservoir(2048, 3)
	for i := range big {
		big[i] = r.ExpFloat64() * 30
		_ = c.Add(big[i])
	}
	// 300000 * 0.001 = 300 values above p99.9 < 2048: exact tail.
	for _, q := range []float64{0.995, 0.999, 0.9999, 1} {
		if got, want := c.Quantile(q), exactOf(big, q); got != want {
			t.Errorf("tail q=%v: %v want %v", q, got, want)
		}
	}
	if c.Quantile(0) != slices.Min(big) {
		t.Error("minimum not exact")
	}
}

func TestWindowRotationKeepsLifetime(t *testing.T) {
	e, clk, _ := newTestEngine(t, nil)
	vals := seq(1, 10)
	record(t, e, "GET", "/health", 200, vals...)
	r := quantiles(t, e, "")
	if r.Routes["GET /health"]["count"] != uint64(10) || r.Overall["count"] != uint64(10) || r.WindowSeconds != 100 {
		t.Fatalf("after recording: %+v", r)
	}
	if r.Routes["GET /health"]["p50"] != exactOf(vals, 0.5) {
		t.Fatalf("p50 %v", r.Routes["GET /health"]["p50"])
	}
	clk.Advance(95 * time.Second) // nine rotations: the first sub-window is still inside
	e.Flush()                     // samples join the sub-window open when they are ingested
	record(t, e, "GET", "/health", 200, 100)
	r = quantiles(t, e, "")
	if r.Routes["GET /health"]["count"] != uint64(11) || r.Routes["GET /health"]["p99"] != exactOf(append(vals, 100), 0.99) {
		t.Fatalf("inside the window: %v", r.Routes["GET /health"])
	}
	clk.Advance(10 * time.Second) // the first sub-window leaves the window
	r = quantiles(t, e, "")
	st := r.Routes["GET /health"]
	if st["count"] != uint64(1) || st["p50"] != 100.0 {
		t.Fatalf("after the first sub-window left: %v", st)
	}
	clk.Advance(time.Hour) // everything leaves
	r = quantiles(t, e, "")
	st = r.Routes["GET /health"]
	if st["count"] != uint64(0) || st["p50"] != nil || r.Overall["p50"] != nil {
		t.Fatalf("after an hour: %v", st)
	}
	life := r.Lifetime.Routes["GET /health"]
	if life["count"] != uint64(11) || life["p50"] != exactOf(append(vals, 100), 0.5) || r.Lifetime.Overall["count"] != uint64(11) {
		t.Fatalf("lifetime: %v", life)
	}
}

func TestEMAHistoryAndPrometheusGauge(t *testing.T) {
	e, clk, reg := newTestEngine(t, nil)
	w1, w2 := seq(1, 100), seq(101, 300)
	record(t, e, "GET", "/items/:id", 200, w1...)
	e.Flush()
	clk.Advance(10 * time.Second)
	e.Flush()
	d, err := e.Distribution("GET /items/:id")
	if err != nil {
		t.Fatal(err)
	}
	rd := d.Routes["GET /items/:id"]
	if rd.EMAP95 == nil || *rd.EMAP95 != exactOf(w1, 0.95) || *rd.EMAP50 != exactOf(w1, 0.5) {
		t.Fatalf("EMA after the first rotation: %+v", rd)
	}
	record(t, e, "GET", "/items/:id", 200, w2...)
	clk.Advance(10 * time.Second)
	e.Flush()
	want95 := 0.5*exactOf(w2, 0.95) + 0.5*exactOf(w1, 0.95)
	d, _ = e.Distribution("")
	rd = d.Routes["GET /items/:id"]
	if math.Abs(*rd.EMAP95-want95) > 1e-9 || math.Abs(*rd.EMAP50-(0.5*exactOf(w2, 0.5)+0.5*exactOf(w1, 0.5))) > 1e-9 {
		t.Fatalf("EMA after two rotations %v, want %v", *rd.EMAP95, want95)
	}
	if d.Overall.EMAP95 == nil || math.Abs(*d.Overall.EMAP95-want95) > 1e-9 {
		t.Fatalf("overall EMA %v", d.Overall.EMAP95)
	}
	// An idle sub-window does not move the EMA.
	clk.Advance(10 * time.Second)
	e.Flush()
	d, _ = e.Distribution("")
	if math.Abs(*d.Routes["GET /items/:id"].EMAP95-want95) > 1e-9 {
		t.Fatal("an empty sub-window moved the EMA")
	}
	snap := e.Snapshot()
	if len(snap) != 1 || !slices.Equal(snap[0].P95History, []float64{exactOf(w1, 0.95), exactOf(w2, 0.95)}) {
		t.Fatalf("snapshot %+v", snap)
	}
	g := gaugeValue(t, reg, "http_request_duration_ema_p95_seconds", map[string]string{"method": "GET", "route": "/items/:id"})
	if math.Abs(g-want95/1000) > 1e-12 {
		t.Fatalf("EMA gauge %v, want %v", g, want95/1000)
	}
}

func TestClassesFollowAdaptiveThresholds(t *testing.T) {
	e, clk, _ := newTestEngine(t, nil)
	w1 := seq(1, 100)
	record(t, e, "GET", "/health", 200, w1...)
	e.Flush() // first batch: no threshold yet, all normal
	// Warm-up: thresholds are the open sub-window's p50/p95 (50.5, 95.05).
	record(t, e, "GET", "/health", 200, 2, 70, 1000)
	d, _ := e.Distribution("GET /health")
	cc := d.Routes["GET /health"].ClassCounts
	if cc["fast"] != 1 || cc["normal"] != 101 || cc["slow"] != 1 {
		t.Fatalf("warm-up classes %v", cc)
	}
	clk.Advance(10 * time.Second) // EMA from the closed sub-window
	e.Flush()
	d, _ = e.Distribution("GET /health")
	p50, p95 := *d.Routes["GET /health"].EMAP50, *d.Routes["GET /health"].EMAP95
	record(t, e, "GET", "/health", 200, p50, p50+0.001, p95, p95+0.001, 0)
	d, _ = e.Distribution("GET /health")
	cc = d.Routes["GET /health"].ClassCounts
	// window: 103 from the first sub-window, plus fast {p50, 0}, normal {p50+, p95}, slow {p95+}
	if cc["fast"] != 3 || cc["normal"] != 103 || cc["slow"] != 2 {
		t.Fatalf("classes %v (ema p50 %v p95 %v)", cc, p50, p95)
	}
	cl := d.Routes["GET /health"].Classes
	if math.Abs(cl["fast"]+cl["normal"]+cl["slow"]-1) > 1e-12 || math.Abs(cl["slow"]-2.0/108) > 1e-12 {
		t.Fatalf("proportions %v", cl)
	}
	if d.Overall.ClassCounts["slow"] != 2 {
		t.Fatalf("overall classes %v", d.Overall.ClassCounts)
	}
}

func TestBucketsAndStatusClasses(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	record(t, e, "GET", "/health", 200, 0.05, 0.1, 0.11, 7, 10, 20000)
	record(t, e, "GET", "/health", 503, 1)
	record(t, e, "GET", "/health", 404, 1)
	d, _ := e.Distribution("")
	b := d.Routes["GET /health"].Buckets
	want := make([]uint64, len(BucketEdgesMS)+1)
	want[0], want[1], want[3], want[6], want[16] = 2, 1, 2, 2, 1
	if !slices.Equal(b, want) || len(d.BucketEdgesMS) != len(b)-1 {
		t.Fatalf("buckets %v want %v", b, want)
	}
	st := quantiles(t, e, "GET /health").Routes["GET /health"]
	status := st["status"].(map[string]uint64)
	if status["2xx"] != 6 || status["4xx"] != 1 || status["5xx"] != 1 || st["error_rate"] != 1.0/8 {
		t.Fatalf("status %v error_rate %v", status, st["error_rate"])
	}
}

func TestResetClearsEverything(t *testing.T) {
	e, clk, _ := newTestEngine(t, nil)
	record(t, e, "GET", "/health", 200, seq(1, 50)...)
	record(t, e, "POST", "/items", 201, seq(1, 5)...)
	clk.Advance(10 * time.Second)
	e.Flush()
	record(t, e, "GET", "/health", 200, 7)
	res := e.Reset()
	if res.ClearedRoutes != 2 || res.ClearedSamples != 56 {
		t.Fatalf("reset %+v", res)
	}
	r := quantiles(t, e, "")
	if len(r.Routes) != 0 || r.Overall["count"] != uint64(0) || r.Lifetime.Overall["count"] != uint64(0) || r.Overall["p50"] != nil {
		t.Fatalf("after reset: %+v", r)
	}
	d, _ := e.Distribution("GET /health")
	if rd := d.Routes["GET /health"]; rd.Count != 0 || rd.EMAP95 != nil || d.Overall.EMAP95 != nil || rd.ClassCounts["normal"] != 0 {
		t.Fatalf("distribution after reset: %+v", rd)
	}
	if len(e.Snapshot()) != 0 || e.ActiveRoutes() != 0 || e.TrackedRoutes() != len(testRoutes)+1 {
		t.Fatal("snapshot or counts survive reset")
	}
	if e.Reset().ClearedRoutes != 0 {
		t.Fatal("second reset cleared routes")
	}
	// The engine keeps working after a reset.
	record(t, e, "GET", "/health", 200, 4)
	if quantiles(t, e, "GET /health").Routes["GET /health"]["p50"] != 4.0 {
		t.Fatal("no data after reset")
	}
}

func TestCardinalityBoundedByRoutes(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 20_000; i++ {
		path := fmt.Sprintf("/%x/%x", r.Uint64(), r.Uint32())
		// gin gives an unmatched request an empty FullPath; a template the
		// engine does not know must not become a key either.
		fp := ""
		if i%2 == 0 {
			fp = path
		}
		e.RecordRequest([]string{"GET", "POST", "BREW"}[i%3], fp, 404, time.Millisecond)
	}
	real := seq(1, 100)
	record(t, e, "GET", "/items/:id", 200, real...)
	rep := quantiles(t, e, "")
	if e.TrackedRoutes() != len(testRoutes)+1 || len(rep.Routes) != 2 || rep.TrackedRoutes != len(testRoutes)+1 {
		t.Fatalf("tracked %d, routes %v", e.TrackedRoutes(), keys(rep.Routes))
	}
	if rep.Routes[UnmatchedKey]["count"] != uint64(20_000) {
		t.Fatalf("unmatched %v", rep.Routes[UnmatchedKey])
	}
	st := rep.Routes["GET /items/:id"]
	if st["count"] != uint64(100) || st["p95"] != exactOf(real, 0.95) {
		t.Fatalf("real route disturbed: %v", st)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestRouteFilterAndExtraQuantiles(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	vals := seq(1, 1000)
	record(t, e, "GET", "/health", 200, vals...)
	record(t, e, "POST", "/items", 200, 5)
	r := quantiles(t, e, "GET /health", 0.999, 0.001)
	if len(r.Routes) != 1 || r.Routes["GET /health"]["p99.9"] != exactOf(vals, 0.999) || r.Routes["GET /health"]["p0.1"] != exactOf(vals, 0.001) {
		t.Fatalf("filtered %v", r.Routes)
	}
	if _, ok := r.Overall["p99.9"]; !ok {
		t.Fatal("overall lacks the extra quantile")
	}
	if _, err := e.Quantiles(nil, "GET /nope"); !errors.As(err, &ErrUnknownRoute{}) {
		t.Fatalf("unknown route: %v", err)
	}
	if _, err := e.Distribution("GET /nope"); err == nil {
		t.Fatal("distribution accepted an unknown route")
	}
}

func TestQuantileParsingAndLabels(t *testing.T) {
	for q, want := range map[float64]string{0.5: "p50", 0.9: "p90", 0.999: "p99.9", 0.9999: "p99.99", 0.05: "p5", 0.001: "p0.1", 0.123: "p12.3"} {
		if got := QuantileLabel(q); got != want {
			t.Errorf("QuantileLabel(%v) = %q want %q", q, got, want)
		}
	}
	for _, bad := range []string{"0", "1", "1.5", "-0.1", "NaN", "Inf", "abc", "", "0x"} {
		if _, err := ParseQuantile(bad); err == nil {
			t.Errorf("ParseQuantile(%q) accepted", bad)
		}
	}
	if q, err := ParseQuantile(" 0.999 "); err != nil || q != 0.999 {
		t.Fatal(q, err)
	}
}

func TestSnapshotBounds(t *testing.T) {
	e, clk, _ := newTestEngine(t, nil)
	record(t, e, "GET", "/health", 200, seq(1, 3000)...)
	snap := e.Snapshot()
	// Shards are drained in turn, so "most recent" holds per ingestion
	// order: the samples are SampleCap distinct recorded values.
	if len(snap) != 1 || len(snap[0].Samples) != SampleCap || snap[0].Count != 3000 {
		t.Fatalf("samples %d count %d", len(snap[0].Samples), snap[0].Count)
	}
	seen := map[float64]bool{}
	for _, v := range snap[0].Samples {
		if seen[v] || v < 1 || v > 3000 || v != math.Trunc(v) {
			t.Fatalf("sample %v repeated or never recorded", v)
		}
		seen[v] = true
	}
	if snap[0].P95 != exactOf(seq(1, 3000), 0.95) && math.Abs(snap[0].P95/exactOf(seq(1, 3000), 0.95)-1) > 0.1 {
		t.Fatalf("p95 %v", snap[0].P95)
	}
	clk.Advance(101 * time.Second)
	snap = e.Snapshot()
	if len(snap[0].Samples) != 0 || snap[0].Count != 0 || snap[0].P95 != 0 {
		t.Fatalf("samples outside the window survive: %d", len(snap[0].Samples))
	}
	for i := 0; i < HistoryCap+10; i++ {
		record(t, e, "GET", "/health", 200, float64(i))
		clk.Advance(10 * time.Second)
		e.Flush()
	}
	h := e.Snapshot()[0].P95History
	// p95(1..3000) first, then one entry (i) per rotation; the oldest 11 fell out.
	if len(h) != HistoryCap || h[0] != 10 || h[len(h)-1] != float64(HistoryCap+9) {
		t.Fatalf("history len %d first %v last %v", len(h), h[0], h[len(h)-1])
	}
}

func TestSLOTargetsAreBounded(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	e.SetSLOTargets(map[string]float64{"GET /health": 5, "GET /random/raw/path": 1, "POST /items": math.NaN(), "GET /items/:id": -1})
	if got := e.SLOTargets(); len(got) != 1 || got["GET /health"] != 5 {
		t.Fatalf("targets %v", got)
	}
	record(t, e, "GET", "/health", 200, 1, 2, 3)
	st := quantiles(t, e, "GET /health").Routes["GET /health"]
	if st["slo_p95_ms"] != 5.0 || st["slo_met"] != true {
		t.Fatalf("slo fields %v", st)
	}
	e.SetSLOTargets(nil)
	if len(e.SLOTargets()) != 0 {
		t.Fatal("nil did not clear")
	}
}

func TestDroppedSamplesAreCounted(t *testing.T) {
	e, _, _ := newTestEngine(t, func(o *Options) { o.Shards, o.ShardBuffer = 1, 64 })
	id := e.Resolve("GET", "/health")
	e.mu.Lock() // hold off ingestion: the shard can only fill
	dropped := 0
	for i := 0; i < 70; i++ {
		if err := e.Record(id, 200, 1); errors.Is(err, ErrDropped) {
			dropped++
		}
	}
	e.mu.Unlock()
	if dropped != 6 || e.Dropped() != 6 {
		t.Fatalf("dropped %d, counter %d", dropped, e.Dropped())
	}
	if r := quantiles(t, e, "GET /health"); r.Routes["GET /health"]["count"] != uint64(64) || r.Dropped != 6 {
		t.Fatalf("%v", r.Routes["GET /health"])
	}
}

func TestConcurrentRecordersAndReaders(t *testing.T) {
	e, clk, _ := newTestEngine(t, func(o *Options) { o.ShardBuffer = 1 << 16; o.FlushInterval = time.Millisecond })
	const writers, per = 8, 5000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				r := testRoutes[(w+i)%len(testRoutes)]
				e.RecordRequest(r.Method, r.Path, 200+100*(i%4), time.Duration(i%97+1)*time.Millisecond)
			}
		}(w)
	}
	var readers sync.WaitGroup
	for rd := 0; rd < 3; rd++ {
		readers.Add(1)
		go func(rd int) {
			defer readers.Done()
			for n := 0; n < 10_000; n++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				switch (n + rd) % 5 {
				case 0:
					_, _ = e.Quantiles([]float64{0.999}, "")
				case 1:
					_, _ = e.Distribution("")
				case 2:
					_ = e.Snapshot()
				case 3:
					e.SetSLOTargets(map[string]float64{"GET /health": 10})
				case 4:
					clk.Advance(time.Second)
					_ = e.ActiveRoutes()
				}
			}
		}(rd)
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	r := quantiles(t, e, "")
	if r.Lifetime.Overall["count"] != uint64(writers*per) || e.Dropped() != 0 || e.Ingested() != writers*per {
		t.Fatalf("lifetime %v, dropped %d, ingested %d", r.Lifetime.Overall["count"], e.Dropped(), e.Ingested())
	}
}

func TestCloseStopsIngestion(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	record(t, e, "GET", "/health", 200, 1, 2, 3)
	e.Close()
	select {
	case <-e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("ingestion goroutine still running")
	}
	e.Close() // idempotent
	if e.Ingested() != 3 {
		t.Fatalf("Close did not drain: %d", e.Ingested())
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []Options{{SubWindows: 1}, {Alpha: 1.5}, {Alpha: -1}, {Window: time.Millisecond, SubWindows: 10}} {
		if e, err := New(o); err == nil {
			e.Close()
			t.Errorf("%+v accepted", o)
		}
	}
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Window() != DefaultWindow || len(e.shards)&(len(e.shards)-1) != 0 || len(e.shards) > MaxShards {
		t.Fatalf("defaults: window %s shards %d", e.Window(), len(e.shards))
	}
}

func TestPrometheusHistogram(t *testing.T) {
	e, _, reg := newTestEngine(t, nil)
	record(t, e, "GET", "/health", 200, 1, 2, 3)
	record(t, e, "GET", "/health", 500, 4)
	e.RecordRequest("GET", "", 404, time.Millisecond)
	fams, err := reg.Gather() // Collect drains the shards first
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range fams {
		if f.GetName() != "http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := labels(m)
			counts[l["method"]+" "+l["route"]+" "+l["status_class"]] = m.GetHistogram().GetSampleCount()
			if len(m.GetHistogram().GetBucket()) != len(BucketEdgesMS) || m.GetHistogram().GetSchema() == 0 && m.GetHistogram().GetZeroThreshold() == 0 {
				t.Errorf("histogram lacks classic buckets or native settings: %v", m.GetHistogram())
			}
		}
	}
	want := map[string]uint64{"GET /health 2xx": 3, "GET /health 5xx": 1, "* (unmatched) 4xx": 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("histogram series %v want %v", counts, want)
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if fmt.Sprint(labels(m)) == fmt.Sprint(want) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s%v", name, want)
	return 0
}
