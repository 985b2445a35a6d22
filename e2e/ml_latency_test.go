package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// TestMLAnomaliesOnTheRealLatencyEngine checks the wiring in the full
// binary: the requests the router times reach the latency engine, the ml
// group reads the engine through the service it declared, and a trained
// baseline holds the engine's samples. How anomalies are scored as
// sub-windows rotate is tested in process, on the engine's injected clock
// (features/ml TestAnomaliesOnTheRealLatencyEngine); nothing here depends
// on the wall clock (the default 300 s window holds every request).
func TestMLAnomaliesOnTheRealLatencyEngine(t *testing.T) {
	const token = "e2e-admin"
	p := startBinary(t, buildVariant(t, "full"), "SAFE_MODE=1", "ADMIN_RESET_TOKEN="+token, "ML_MIN_HISTORY=3")
	const route = "POST /api/v2/ml/detect"
	const n = 25 // above the KS test's 20 samples a side
	for range n {
		if code, m := p.send(t, "POST", "/api/v2/ml/detect", "application/json", strings.NewReader(`{"series":[1,2,3,50]}`), ""); code != 200 {
			t.Fatalf("detect: %d %v", code, m)
		}
	}
	routeOf := func() (map[string]any, bool) {
		code, m := p.send(t, "GET", "/api/v2/ml/anomalies", "", nil, "")
		if code != 200 {
			t.Fatalf("anomalies: %d %v", code, m)
		}
		for _, r := range m["routes"].([]any) {
			if rm := r.(map[string]any); rm["route"] == route {
				return rm, true
			}
		}
		return nil, false
	}
	// Bounded: the engine records a request after its handler returns.
	r := waitfor.Value(t, 10*time.Second, route+" with all its requests in /api/v2/ml/anomalies", func() (map[string]any, bool) {
		r, ok := routeOf()
		return r, ok && r["count"] == float64(n)
	})
	if r["baseline"] != "history" || r["anomalous"] != false || !strings.Contains(strings.Join(reasons(r), ";"), "insufficient history") {
		t.Fatalf("before training: %v", r)
	}

	if code, m := p.send(t, "POST", "/api/v2/ml/baseline/train", "", nil, ""); code != 401 {
		t.Fatalf("train without the admin token: %d %v", code, m)
	}
	code, m := p.send(t, "POST", "/api/v2/ml/baseline/train", "", nil, token)
	if code != 200 || m["baseline"].(map[string]any)["trained"] != true {
		t.Fatalf("train: %d %v", code, m)
	}
	var trained map[string]any
	for _, tr := range m["trained"].([]any) {
		if tm := tr.(map[string]any); tm["route"] == route {
			trained = tm
		}
	}
	if trained == nil || trained["samples"] != float64(n) {
		t.Fatalf("the trained baseline does not hold the route's %d samples: %v", n, m)
	}

	// The same window against the baseline trained on it: the KS test runs
	// on the engine's samples and finds no shift.
	r, _ = routeOf()
	ks, _ := r["ks"].(map[string]any)
	if ks == nil || ks["n"] != float64(n) || ks["m"] != float64(n) || ks["d"] != 0.0 || r["anomalous"] != false {
		t.Fatalf("after training: %v", r)
	}
}

func reasons(r map[string]any) []string {
	var out []string
	for _, x := range r["reasons"].([]any) {
		out = append(out, x.(string))
	}
	return out
}
