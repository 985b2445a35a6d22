package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// TestMLAnomaliesOnTheRealLatencyEngine drives real traffic through the
// full binary, trains the baseline on it, then makes the same route slow
// (an 8 000-value series takes far longer to score than a 4-value one) and
// expects /api/v2/ml/anomalies to flag it: the window p95 against the
// trained p95 history, and the KS test against the trained samples. Every
// load loop is bounded in count and time.
func TestMLAnomaliesOnTheRealLatencyEngine(t *testing.T) {
	const token = "e2e-admin"
	p := startBinary(t, buildVariant(t, "full"), "SAFE_MODE=1", "ADMIN_RESET_TOKEN="+token,
		"LATENCY_WINDOW=10s", "LATENCY_SUBWINDOWS=10", "ML_MIN_HISTORY=3")
	const route = "POST /api/v2/ml/detect"
	small := `{"series":[1,2,3,50]}`
	var b strings.Builder
	b.WriteString(`{"series":[`)
	for i := 0; i < 8_000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", i%97)
	}
	b.WriteString(`]}`)
	large := b.String()
	drive := func(body string, d time.Duration, max int) int {
		t.Helper()
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end) && n < max; n++ {
			if code, m := p.send(t, "POST", "/api/v2/ml/detect", "application/json", strings.NewReader(body), ""); code != 200 {
				t.Fatalf("detect: %d %v", code, m)
			}
			time.Sleep(5 * time.Millisecond) // pacing: spreads the samples over the sub-windows
		}
		return n
	}
	routeOf := func() map[string]any {
		t.Helper()
		code, m := p.send(t, "GET", "/api/v2/ml/anomalies", "", nil, "")
		if code != 200 {
			t.Fatalf("anomalies: %d %v", code, m)
		}
		for _, r := range m["routes"].([]any) {
			if rm := r.(map[string]any); rm["route"] == route {
				return rm
			}
		}
		t.Fatalf("%s not in %v", route, m)
		return nil
	}

	// Phase 1: fast requests over five 1-second sub-windows build a p95 history.
	n := drive(small, 5500*time.Millisecond, 2000)
	r := routeOf()
	if r["history_len"].(float64) < 3 || r["score"] == nil || r["baseline"] != "history" {
		t.Fatalf("after %d fast requests: %v", n, r)
	}
	code, m := p.send(t, "POST", "/api/v2/ml/baseline/train", "", nil, token)
	if code != 200 || m["baseline"].(map[string]any)["trained"] != true {
		t.Fatalf("train: %d %v", code, m)
	}
	// Let the 10 s window empty, then make the route slow.
	waitfor.True(t, 20*time.Second, "the route's 10 s window to empty", func() bool {
		var d struct {
			Routes map[string]struct {
				Count uint64 `json:"count"`
			} `json:"routes"`
		}
		p.get(t, "GET", "/api/v2/latency/distribution", &d)
		r, ok := d.Routes[route]
		return !ok || r.Count == 0
	})
	// Enough slow samples for the KS test (20), well inside the 10 s window
	// even on a loaded machine.
	n = drive(large, 8*time.Second, 60)
	r = routeOf()
	ks, _ := r["ks"].(map[string]any)
	if r["baseline"] != "trained" || r["anomalous"] != true || ks == nil || ks["p_value"].(float64) >= 0.01 {
		t.Fatalf("after %d slow requests: %v", n, r)
	}
	reasons := fmt.Sprint(r["reasons"])
	if !strings.Contains(reasons, "robust z above the baseline median") || !strings.Contains(reasons, "distribution shifted up") {
		t.Fatalf("reasons: %s", reasons)
	}
}
