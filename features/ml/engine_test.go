package ml

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/latency"
)

// clock is the latency engine's injected clock (latency.Options.Now): the
// test moves it, so sub-windows rotate when the test says, not when the
// wall clock does.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestAnomaliesOnTheRealLatencyEngine scores the real latency engine's
// windows (internal/latency, on an injected clock) through the ml routes
// over loopback: a p95 history built over five sub-windows, a trained
// baseline, a window like the baseline (quiet) and a slow one (anomalous by
// both the robust score and the KS test). The test only imports the engine
// to build it; the feature reads it through capability.LatencyKey, as in
// the binary (e2e/ml_latency_test.go checks that wiring).
func TestAnomaliesOnTheRealLatencyEngine(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	// A flush interval longer than the test: samples are ingested when the
	// test flushes or reads, at the clock's present.
	eng, err := latency.New(latency.Options{Window: 10 * time.Second, SubWindows: 10, FlushInterval: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	if err := eng.SetRoutes([]latency.Route{{Method: "POST", Path: "/api/v2/ml/detect"}}); err != nil {
		t.Fatal(err)
	}
	base := server(t, map[string]string{"ML_MIN_HISTORY": "3"}, eng)
	const route = "POST /api/v2/ml/detect"
	// record puts n requests into the sub-window open at the clock's
	// present: fast ones take 1.00-1.38 ms, slow ones 20-29.5 ms. A flush
	// ingests what was recorded before it rotates, so the first flush
	// rotates to the present before any of these samples is recorded.
	record := func(n int, slow bool) {
		eng.Flush()
		for i := range n {
			ms := 1 + float64(i%20)*0.02
			if slow {
				ms = 20 + float64(i%20)*0.5
			}
			eng.RecordRequest("POST", "/api/v2/ml/detect", 200, time.Duration(ms*float64(time.Millisecond)))
		}
		eng.Flush()
	}
	routeOf := func(what string) map[string]any {
		t.Helper()
		code, m := call(t, "GET", base+"/api/v2/ml/anomalies", "")
		if code != 200 {
			t.Fatalf("%s: anomalies %d %v", what, code, m)
		}
		r, ok := routesByName(t, m)[route]
		if !ok {
			t.Fatalf("%s: %s not in %v", what, route, m)
		}
		return r
	}

	// Five 1-second sub-windows of fast requests build a p95 history.
	for range 5 {
		record(40, false)
		clk.Advance(time.Second)
	}
	r := routeOf("history")
	if r["history_len"] != 5.0 || r["count"] != 200.0 || r["score"] == nil || r["baseline"] != "history" || r["anomalous"] != false {
		t.Fatalf("after five fast sub-windows: %v", r)
	}
	code, m := call(t, "POST", base+"/api/v2/ml/baseline/train", "", "X-Admin-Token", "s3cret")
	if code != 200 || fmt.Sprint(m["trained"]) != "[map[history_len:5 route:POST /api/v2/ml/detect samples:200]]" {
		t.Fatalf("train: %d %v", code, m)
	}

	// The 10 s window empties. (11 s: the engine's sample list keeps a
	// sample exactly one window old, its ring of sub-windows does not.)
	clk.Advance(11 * time.Second)
	if r := routeOf("empty window"); r["count"] != 0.0 || toStrings(r["reasons"])[0] != "no requests in the current window" {
		t.Fatalf("after the window emptied: %v", r)
	}

	// A window like the baseline is quiet.
	record(40, false)
	r = routeOf("quiet window")
	if ks, _ := r["ks"].(map[string]any); r["baseline"] != "trained" || r["anomalous"] != false || ks == nil || ks["p_value"].(float64) < 0.5 {
		t.Fatalf("a window like the baseline: %v", r)
	}

	// A slow window is anomalous for both reasons.
	clk.Advance(11 * time.Second)
	record(40, true)
	r = routeOf("slow window")
	ks, _ := r["ks"].(map[string]any)
	if r["baseline"] != "trained" || r["count"] != 40.0 || r["anomalous"] != true || ks == nil || !near(ks["d"].(float64), 1, 1e-9) || ks["p_value"].(float64) >= 0.01 {
		t.Fatalf("a slow window: %v", r)
	}
	reasons := strings.Join(toStrings(r["reasons"]), "; ")
	if !strings.Contains(reasons, "robust z above the baseline median") || !strings.Contains(reasons, "distribution shifted up") {
		t.Fatalf("reasons: %s", reasons)
	}
}
