package ml

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
)

// fakeLatency is an in-test groupapi.LatencySource that hands the routes
// exact snapshots; engine_test.go runs the routes on the real latency
// engine (injected clock), and the e2e package checks the binary's wiring.
type fakeLatency struct {
	mu     sync.Mutex
	routes []groupapi.RouteLatency
}

func (f *fakeLatency) Snapshot() []groupapi.RouteLatency {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]groupapi.RouteLatency, len(f.routes))
	copy(out, f.routes)
	return out
}
func (f *fakeLatency) SetSLOTargets(map[string]float64) {}
func (f *fakeLatency) set(r ...groupapi.RouteLatency) {
	f.mu.Lock()
	f.routes = r
	f.mu.Unlock()
}

// server mounts a fresh ml feature on a real gin engine served over
// loopback, with the admin token guard core uses when JWT auth is off.
func server(t *testing.T, env map[string]string, src groupapi.LatencySource) string {
	t.Helper()
	cfg := grouptest.Config(t, "ml", Settings(), env)
	h, all := grouptest.Host(cfg, "ml")
	if src != nil {
		all.Latency.Provide(src)
	}
	return grouptest.Mount(t, newFeature(cfg.Group("ml")), h, grouptest.Admin(auth.TokenGuard("s3cret")))
}

func call(t *testing.T, method, url, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func init() { gin.SetMode(gin.ReleaseMode) }

func errMsg(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func TestDetectRoute(t *testing.T) {
	base := server(t, map[string]string{"ML_MAX_SERIES": "20", "MAX_BODY_BYTES": "400"}, nil)
	code, m := call(t, "POST", base+"/api/v2/ml/detect", `{"series":[10,11,9,10,12,10,95,11,10,9,10],"method":"mad"}`)
	if code != 200 || len(m["indices"].([]any)) != 1 || m["indices"].([]any)[0].(float64) != 6 {
		t.Fatalf("detect: %d %v", code, m)
	}
	o := m["outliers"].([]any)[0].(map[string]any)
	if !near(o["score"].(float64), 57.3325, 1e-9) || o["value"].(float64) != 95 {
		t.Fatalf("outlier %v", o)
	}
	// method defaults to mad; an explicit threshold is honoured (12 scores 1.349)
	if code, m := call(t, "POST", base+"/api/v2/ml/detect", `{"series":[10,11,9,10,12,10,95,11,10,9,10],"threshold":1.3}`); code != 200 ||
		len(m["indices"].([]any)) != 2 || m["threshold"].(float64) != 1.3 {
		t.Fatalf("threshold: %d %v", code, m)
	}
	long := "[" + strings.Repeat("1,", 20) + "1]"
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"series":[1,"NaN",3],"method":"mad"}`, 400, `series[1]: "NaN" is a string`},
		{`{"series":[1,"Infinity",3]}`, 400, "series[1]"},
		{`{"series":[1,1e999,3]}`, 400, "series[1]: 1e999 is out of the float64 range"},
		{`{"series":[1,null,3]}`, 400, "series[1]: null"},
		{`{"series":[1,[2],3]}`, 400, "series[1]: want a finite number"},
		{`{"series":[1,true,3]}`, 400, "series[1]: want a finite number, got a boolean"},
		{`{"series":"1,2,3"}`, 400, "must be an array"},
		{`{"method":"mad"}`, 400, "series is required"},
		{`{"series":[1,2]}`, 400, "needs at least 3 values"},
		{`{"series":[1,2,3],"method":"iqr"}`, 400, "needs at least 4 values"},
		{`{"series":[1,2,3],"method":"median"}`, 400, `method "median"`},
		{`{"series":[1,2,3],"threshold":0}`, 400, "threshold 0"},
		{`{"series":[1,2,3],"threshold":-1}`, 400, "threshold -1"},
		{`{"series":[1,2,3],"threshold":"NaN"}`, 400, "field threshold"},
		{`{"series":[1,2,3],"extra":1}`, 400, `unknown field "extra"`},
		{`{"series":[1,2,3]`, 400, "malformed JSON"},
		{`{"series":` + long + `}`, 413, "more than 20 values (ML_MAX_SERIES)"},
		{`{"series":[` + strings.Repeat("1.000000,", 60) + `1]}`, 413, "exceeds 400 bytes"},
	} {
		code, m := call(t, "POST", base+"/api/v2/ml/detect", tc.body)
		if code != tc.status || !strings.Contains(errMsg(m), tc.want) {
			t.Errorf("%s: %d %v, want %d %q", tc.body, code, m, tc.status, tc.want)
		}
	}
	// exactly at the bound is fine
	if code, _ := call(t, "POST", base+"/api/v2/ml/detect", `{"series":[`+strings.Repeat("1,", 19)+`2]}`); code != 200 {
		t.Fatalf("20 values: %d", code)
	}
}

func TestAnomaliesWithoutLatencySource(t *testing.T) {
	base := server(t, nil, nil)
	code, m := call(t, "GET", base+"/api/v2/ml/anomalies", "")
	if code != 503 || !strings.Contains(errMsg(m), "no latency source") {
		t.Fatalf("%d %v", code, m)
	}
	code, _ = call(t, "POST", base+"/api/v2/ml/baseline/train", "", "X-Admin-Token", "s3cret")
	if code != 503 {
		t.Fatalf("train: %d", code)
	}
}

// history10 has median 10 and MAD 0.5 (|x-10| sorted: 0 0 0 0 0 1 1 1 1 2),
// so the robust scale is 0.5/0.6745 = 0.74129 ms.
var history10 = []float64{10, 11, 9, 10, 12, 10, 11, 9, 10, 10}

func routesByName(t *testing.T, m map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range m["routes"].([]any) {
		rm := r.(map[string]any)
		out[rm["route"].(string)] = rm
	}
	return out
}

func TestAnomaliesAndBaseline(t *testing.T) {
	src := &fakeLatency{}
	base := server(t, nil, src)
	src.set(
		groupapi.RouteLatency{Route: "GET /slow", Count: 100, P95: 20, P95History: history10},    // (20-10)/0.74129 = 13.49
		groupapi.RouteLatency{Route: "GET /fine", Count: 100, P95: 11, P95History: history10},    // 1/0.74129 = 1.349
		groupapi.RouteLatency{Route: "GET /new", Count: 5, P95: 50, P95History: []float64{1, 2}}, // 2 < 8
		groupapi.RouteLatency{Route: "GET /idle", Count: 0, P95History: history10},
		// flat history: MAD 0, the scale floor is 1% of 10 = 0.1 ms -> (10.05-10)/0.1 = 0.5
		groupapi.RouteLatency{Route: "GET /flat", Count: 100, P95: 10.05, P95History: []float64{10, 10, 10, 10, 10, 10, 10, 10}},
		groupapi.RouteLatency{Route: "GET /flatjump", Count: 100, P95: 11, P95History: []float64{10, 10, 10, 10, 10, 10, 10, 10}}, // 10
	)
	code, m := call(t, "GET", base+"/api/v2/ml/anomalies", "")
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	r := routesByName(t, m)
	for route, want := range map[string]struct {
		score     float64
		anomalous bool
	}{"GET /slow": {13.49, true}, "GET /fine": {1.349, false}, "GET /flat": {0.5, false}, "GET /flatjump": {10, true}} {
		got := r[route]
		if got["score"] == nil || !near(got["score"].(float64), want.score, 1e-3) || got["anomalous"] != want.anomalous ||
			got["baseline"] != "history" || got["ks"] != nil {
			t.Errorf("%s: %v", route, got)
		}
	}
	if !strings.Contains(r["GET /slow"]["reasons"].([]any)[0].(string), "13.49 robust z above the baseline median 10 ms") {
		t.Errorf("reason: %v", r["GET /slow"]["reasons"])
	}
	if r["GET /new"]["score"] != nil || r["GET /new"]["anomalous"] != false ||
		!strings.Contains(r["GET /new"]["reasons"].([]any)[0].(string), "insufficient history: 2 of 8") {
		t.Errorf("new: %v", r["GET /new"])
	}
	if r["GET /idle"]["score"] != nil || r["GET /idle"]["reasons"].([]any)[0] != "no requests in the current window" {
		t.Errorf("idle: %v", r["GET /idle"])
	}
	if m["anomalous"].(float64) != 2 || m["baseline"].(map[string]any)["trained"] != false {
		t.Errorf("summary: %v", m)
	}
	// thresholds come from the query
	if _, m := call(t, "GET", base+"/api/v2/ml/anomalies?threshold=20", ""); m["anomalous"].(float64) != 0 {
		t.Errorf("threshold=20: %v", m["anomalous"])
	}
	for _, q := range []string{"threshold=abc", "threshold=0", "alpha=1.5", "alpha=NaN"} {
		if code, _ := call(t, "GET", base+"/api/v2/ml/anomalies?"+q, ""); code != 400 {
			t.Errorf("%s: %d", q, code)
		}
	}

	// Training is admin-only.
	if code, _ := call(t, "POST", base+"/api/v2/ml/baseline/train", ""); code != 401 {
		t.Fatalf("train without token: %d", code)
	}
	if code, _ := call(t, "POST", base+"/api/v2/ml/baseline/train", "", "X-Admin-Token", "wrong"); code != 401 {
		t.Fatalf("train with a wrong token: %d", code)
	}
	// Train on a window of samples 1..100 ms.
	src.set(groupapi.RouteLatency{Route: "GET /api", Count: 100, P95: 95, Samples: seq(1, 100), P95History: []float64{95, 94, 96, 95, 95, 94, 96, 95}})
	code, m = call(t, "POST", base+"/api/v2/ml/baseline/train", "", "X-Admin-Token", "s3cret")
	if code != 200 || m["baseline"].(map[string]any)["routes"].(float64) != 1 {
		t.Fatalf("train: %d %v", code, m)
	}
	// The next window is shifted by 30 ms: KS D = 0.30, p = 1.74e-4 < 0.01.
	// Its p95 (125) against the trained history is anomalous too: median 95,
	// MAD 0.5 -> 0.741 ms, below the floor of 1% of 95 = 0.95 ms: (125-95)/0.95 = 31.58.
	src.set(groupapi.RouteLatency{Route: "GET /api", Count: 100, P95: 125, Samples: seq(31, 130), P95History: []float64{95}})
	_, m = call(t, "GET", base+"/api/v2/ml/anomalies", "")
	got := routesByName(t, m)["GET /api"]
	ks, _ := got["ks"].(map[string]any)
	if got["baseline"] != "trained" || ks == nil || !near(ks["d"].(float64), 0.3, 1e-12) || !near(ks["p_value"].(float64), 1.7421e-4, 1e-7) ||
		got["anomalous"] != true || len(got["reasons"].([]any)) != 2 || !near(got["score"].(float64), 31.579, 1e-3) ||
		!strings.Contains(got["reasons"].([]any)[1].(string), "distribution shifted up: KS D=0.300") {
		t.Fatalf("shifted window: %v", got)
	}
	// A window like the baseline is not anomalous: D = 0.10, p = 0.68; p95 96 scores 1/0.95 = 1.0526.
	src.set(groupapi.RouteLatency{Route: "GET /api", Count: 100, P95: 96, Samples: seq(11, 110)})
	_, m = call(t, "GET", base+"/api/v2/ml/anomalies", "")
	got = routesByName(t, m)["GET /api"]
	if got["anomalous"] != false || got["ks"] == nil || !near(got["score"].(float64), 1.0526, 1e-3) {
		t.Fatalf("quiet window: %v", got)
	}
	// Too few samples for KS: reported, not faked.
	src.set(groupapi.RouteLatency{Route: "GET /api", Count: 5, P95: 96, Samples: seq(1, 5)})
	_, m = call(t, "GET", base+"/api/v2/ml/anomalies", "")
	got = routesByName(t, m)["GET /api"]
	if got["ks"] != nil || !strings.Contains(strings.Join(toStrings(got["reasons"]), ";"), "KS test skipped: 5 current and 100 baseline samples (need 20 each)") {
		t.Fatalf("few samples: %v", got)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestMethodNotAllowedIsNotMounted(t *testing.T) {
	// Only the declared methods are mounted; gin answers the rest (404 here,
	// 405 through core's router which enables HandleMethodNotAllowed).
	base := server(t, nil, nil)
	resp, err := http.Post(base+"/api/v2/ml/anomalies", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("POST /anomalies served")
	}
}

func TestTrainedTooEarlyFallsBackToHistory(t *testing.T) {
	src := &fakeLatency{}
	base := server(t, nil, src)
	src.set(groupapi.RouteLatency{Route: "GET /early", Count: 30, P95: 10, Samples: seq(1, 30), P95History: []float64{10, 11}})
	if code, _ := call(t, "POST", base+"/api/v2/ml/baseline/train", "", "X-Admin-Token", "s3cret"); code != 200 {
		t.Fatal(code)
	}
	// Later the route has a history of its own; the trained one is too short.
	src.set(groupapi.RouteLatency{Route: "GET /early", Count: 30, P95: 20, Samples: seq(1, 30), P95History: history10})
	_, m := call(t, "GET", base+"/api/v2/ml/anomalies", "")
	got := routesByName(t, m)["GET /early"]
	if got["baseline"] != "history" || got["history_len"].(float64) != 10 || !near(got["score"].(float64), 13.49, 1e-3) ||
		got["anomalous"] != true || got["ks"] == nil ||
		!strings.Contains(toStrings(got["reasons"])[0], "the trained baseline holds 2 of 8 window p95 values") {
		t.Fatalf("%v", got)
	}
}
