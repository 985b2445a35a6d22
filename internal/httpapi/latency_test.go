package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/latency"
)

// These tests speak HTTP over loopback to the real gin stack
// (httptest.NewServer around Server.Handler).

type liveServer struct {
	*Server
	base string
}

func newLiveServer(t *testing.T, env map[string]string) liveServer {
	t.Helper()
	s, _ := newTestServer(t, env)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return liveServer{Server: s, base: ts.URL}
}

func (l liveServer) call(t *testing.T, method, path string, header map[string]string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, l.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 && strings.Contains(string(body), "NaN") {
		t.Fatalf("%s %s: NaN in %s", method, path, body)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && resp.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, body)
		}
	}
	return resp.StatusCode
}

func (l liveServer) get(t *testing.T, path string, out any) int {
	t.Helper()
	return l.call(t, "GET", path, nil, out)
}

type quantileBody struct {
	Unit          string                    `json:"unit"`
	WindowSeconds float64                   `json:"window_seconds"`
	Estimator     capreport.Estimator       `json:"estimator"`
	Overall       map[string]any            `json:"overall"`
	Routes        map[string]map[string]any `json:"routes"`
	Lifetime      struct {
		Overall map[string]any            `json:"overall"`
		Routes  map[string]map[string]any `json:"routes"`
	} `json:"lifetime"`
	TrackedRoutes int `json:"tracked_routes"`
}

func TestLatencyQuantilesOverHTTP(t *testing.T) {
	l := newLiveServer(t, nil)
	var q quantileBody
	if code := l.get(t, "/api/v2/latency/quantiles", &q); code != 200 {
		t.Fatal(code)
	}
	// Before any request finished, counts are 0 and quantiles null.
	if q.Unit != "ms" || q.WindowSeconds != 300 || q.Overall["count"] != 0.0 || q.Overall["p50"] != nil || q.Overall["p99"] != nil {
		t.Fatalf("empty report %+v", q)
	}
	if want := latency.Select(100, latency.DefaultReservoirSize).Info; q.Estimator != want {
		t.Fatalf("estimator %+v want %+v", q.Estimator, want)
	}
	for i := 0; i < 50; i++ {
		l.get(t, "/health", nil)
	}
	l.get(t, "/no/such/path", nil)
	l.call(t, "POST", "/health", nil, nil)       // 405: unmatched
	l.get(t, "/api/v2/ml/boom", nil)             // 500 on a real route
	l.call(t, "POST", "/api/v2/llm/x", nil, nil) // 501: unmatched
	if code := l.get(t, "/api/v2/latency/quantiles?q=0.999", &q); code != 200 {
		t.Fatal(code)
	}
	h := q.Routes["GET /health"]
	if h["count"] != 50.0 || h["p50"] == nil || h["p50"].(float64) > h["p99"].(float64) || h["p99.9"] == nil || h["error_rate"] != 0.0 {
		t.Fatalf("GET /health %v", h)
	}
	if st := h["status"].(map[string]any); st["2xx"] != 50.0 || st["4xx"] != 0.0 || st["5xx"] != 0.0 {
		t.Fatalf("status %v", st)
	}
	if u := q.Routes[latency.UnmatchedKey]; u["count"] != 3.0 || u["status"].(map[string]any)["4xx"] != 2.0 || u["status"].(map[string]any)["5xx"] != 1.0 {
		t.Fatalf("unmatched %v", u)
	}
	if b := q.Routes["GET /api/v2/ml/boom"]; b["count"] != 1.0 || b["error_rate"] != 1.0 {
		t.Fatalf("panicking route %v", b)
	}
	if q.Overall["p99.9"] == nil || q.Overall["count"].(float64) < 55 || q.Lifetime.Routes["GET /health"]["count"] != 50.0 {
		t.Fatalf("overall %v lifetime %v", q.Overall, q.Lifetime.Routes["GET /health"])
	}
	for k := range q.Routes {
		if k != latency.UnmatchedKey && !strings.Contains(k, " /") {
			t.Errorf("route key %q is not METHOD /template", k)
		}
	}

	// Filter and several extra quantiles.
	q = quantileBody{}
	if code := l.get(t, "/api/v2/latency/quantiles?route="+url.QueryEscape("GET /health")+"&q=0.9999,0.75&q=0.001", &q); code != 200 {
		t.Fatal(code)
	}
	if len(q.Routes) != 1 || q.Routes["GET /health"]["p99.99"] == nil || q.Routes["GET /health"]["p75"] == nil || q.Routes["GET /health"]["p0.1"] == nil || len(q.Lifetime.Routes) != 1 {
		t.Fatalf("filtered %v", q.Routes)
	}
}

func TestLatencyBadRequests(t *testing.T) {
	l := newLiveServer(t, nil)
	many := strings.Repeat("0.5,", latency.MaxExtraQuantiles) + "0.5"
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v2/latency/quantiles?q=0", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=1", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=1.5", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=-0.5", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=abc", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=NaN", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=0.5,", 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?q=" + many, 400, "bad_quantile"},
		{"/api/v2/latency/quantiles?route=", 400, "bad_request"},
		{"/api/v2/latency/quantiles?route=" + url.QueryEscape("GET /nope"), 404, "unknown_route"},
		{"/api/v2/latency/distribution?route=", 400, "bad_request"},
		{"/api/v2/latency/distribution?route=%2Fhealth", 404, "unknown_route"},
	} {
		var body map[string]any
		if code := l.get(t, tc.path, &body); code != tc.status || errCode(body) != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.path, code, body, tc.status, tc.code)
		}
	}
	if code := l.call(t, "POST", "/api/v2/latency/quantiles", nil, nil); code != 405 {
		t.Errorf("POST quantiles: %d", code)
	}
}

func TestLatencyDistributionOverHTTP(t *testing.T) {
	l := newLiveServer(t, nil)
	for i := 0; i < 20; i++ {
		l.get(t, "/health", nil)
	}
	var d struct {
		Unit          string                    `json:"unit"`
		WindowSeconds float64                   `json:"window_seconds"`
		Edges         []float64                 `json:"bucket_edges_ms"`
		Overall       map[string]any            `json:"overall"`
		Routes        map[string]map[string]any `json:"routes"`
	}
	if code := l.get(t, "/api/v2/latency/distribution?route="+url.QueryEscape("GET /health"), &d); code != 200 {
		t.Fatal(code)
	}
	h := d.Routes["GET /health"]
	buckets := h["buckets"].([]any)
	sum := 0.0
	for _, b := range buckets {
		sum += b.(float64)
	}
	if d.Unit != "ms" || d.WindowSeconds != 300 || len(d.Edges) != len(latency.BucketEdgesMS) || len(buckets) != len(d.Edges)+1 || sum != 20 || h["count"] != 20.0 {
		t.Fatalf("distribution %+v", d)
	}
	cl := h["classes"].(map[string]any)
	if len(cl) != 3 || cl["fast"] == nil || cl["normal"] == nil || cl["slow"] == nil {
		t.Fatalf("classes %v", cl)
	}
	if _, ok := h["ema_p95"]; !ok || h["ema_p95"] != nil { // no rotation yet
		t.Fatalf("ema_p95 %v", h["ema_p95"])
	}
	if _, ok := d.Overall["ema_p50"]; !ok || len(d.Routes) != 1 {
		t.Fatalf("overall %v routes %v", d.Overall, d.Routes)
	}
}

func TestLatencyResetWithToken(t *testing.T) {
	l := newLiveServer(t, map[string]string{"ADMIN_RESET_TOKEN": "s3cret-token"})
	for i := 0; i < 5; i++ {
		l.get(t, "/health", nil)
	}
	for _, tc := range []struct {
		path   string
		header map[string]string
	}{
		{"/admin/adaptive/reset", nil},
		{"/admin/adaptive/reset?secret=wrong", nil},
		{"/admin/adaptive/reset?secret=", nil},
		{"/admin/adaptive/reset", map[string]string{"X-Admin-Token": "s3cret-tokeX"}},
		{"/admin/adaptive/reset?secret=s3cret-token", map[string]string{"X-Admin-Token": "wrong"}}, // the header wins
	} {
		var body map[string]any
		if code := l.call(t, "POST", tc.path, tc.header, &body); code != 401 || errCode(body) != "unauthorized" {
			t.Errorf("%s %v: %d %v", tc.path, tc.header, code, body)
		}
	}
	var q quantileBody
	l.get(t, "/api/v2/latency/quantiles", &q)
	if q.Routes["GET /health"]["count"] != 5.0 {
		t.Fatalf("a refused reset cleared data: %v", q.Routes["GET /health"])
	}
	var res map[string]any
	if code := l.call(t, "POST", "/admin/adaptive/reset", map[string]string{"X-Admin-Token": "s3cret-token"}, &res); code != 200 {
		t.Fatal(code, res)
	}
	// /health, quantiles, the (unmatched-free) refused resets on their route.
	if res["cleared_routes"].(float64) < 3 || res["cleared_samples"].(float64) < 11 {
		t.Fatalf("reset %v", res)
	}
	q = quantileBody{}
	l.get(t, "/api/v2/latency/quantiles", &q)
	if len(q.Routes) != 1 || q.Routes["POST /admin/adaptive/reset"]["count"] != 1.0 || q.Lifetime.Overall["count"] != 1.0 {
		// only the reset request itself finished after the reset
		t.Fatalf("after reset: %v", q.Routes)
	}
	if code := l.call(t, "POST", "/admin/adaptive/reset?secret=s3cret-token", nil, &res); code != 200 {
		t.Fatal(code, res)
	}
	if code := l.get(t, "/admin/adaptive/reset", nil); code != 405 {
		t.Fatalf("GET reset: %d", code)
	}
}

func TestLatencyResetWithoutTokenIsLoopbackOnly(t *testing.T) {
	l := newLiveServer(t, nil)
	l.get(t, "/health", nil)
	// A remote client: the TCP peer decides, forwarding headers do not.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/admin/adaptive/reset", nil)
	r.RemoteAddr = "203.0.113.7:4444"
	r.Header.Set("X-Forwarded-For", "127.0.0.1")
	l.Handler().ServeHTTP(w, r)
	if w.Code != 403 || !strings.Contains(w.Body.String(), `"forbidden"`) {
		t.Fatalf("remote reset: %d %s", w.Code, w.Body)
	}
	var q quantileBody
	l.get(t, "/api/v2/latency/quantiles", &q)
	if q.Routes["GET /health"]["count"] != 1.0 {
		t.Fatal("a forbidden reset cleared data")
	}
	var res map[string]any
	if code := l.call(t, "POST", "/admin/adaptive/reset", nil, &res); code != 200 || res["cleared_routes"].(float64) < 2 {
		t.Fatalf("loopback reset: %d %v", code, res)
	}
	var hb struct {
		Events []struct{ Msg string } `json:"events"`
	}
	l.get(t, "/startup/heartbeat?n=200", &hb)
	warned, logged := false, false
	for _, e := range hb.Events {
		warned = warned || strings.Contains(e.Msg, "ADMIN_RESET_TOKEN not set")
		logged = logged || strings.Contains(e.Msg, "LATENCY: reset by 127.0.0.1")
	}
	if !warned || !logged {
		t.Fatalf("phase events %v", hb.Events)
	}
}

func TestLatencyCardinalityThroughGin(t *testing.T) {
	// Rate limiting is off here: the test counts tracked routes, not budgets.
	l := newLiveServer(t, map[string]string{"RATE_LIMIT_RPS": "0"})
	r := rand.New(rand.NewPCG(3, 4))
	// 20,000 distinct unknown paths through the full gin stack (in-process
	// to keep the test short), and some more over loopback.
	for i := 0; i < 20_000; i++ {
		w := httptest.NewRecorder()
		l.Handler().ServeHTTP(w, httptest.NewRequest([]string{"GET", "POST", "DELETE"}[i%3], fmt.Sprintf("/x%x/%x", r.Uint64(), i), nil))
		if w.Code != 404 && w.Code != 405 {
			t.Fatalf("unknown path answered %d", w.Code)
		}
	}
	for i := 0; i < 50; i++ {
		l.get(t, fmt.Sprintf("/api/v2/ml/missing-%d", i), nil)
		l.get(t, "/health", nil)
	}
	var q quantileBody
	l.get(t, "/api/v2/latency/quantiles", &q)
	bound := len(l.Engine().Routes()) + 1
	if q.TrackedRoutes != bound || len(q.Routes) > bound || len(q.Lifetime.Routes) > bound {
		t.Fatalf("tracked %d, %d routes, bound %d", q.TrackedRoutes, len(q.Routes), bound)
	}
	if q.Routes[latency.UnmatchedKey]["count"] != 20_050.0 || q.Routes["GET /health"]["count"] != 50.0 {
		t.Fatalf("unmatched %v health %v", q.Routes[latency.UnmatchedKey]["count"], q.Routes["GET /health"]["count"])
	}
	w := httptest.NewRecorder()
	l.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(w.Body.String(), "/x") || strings.Contains(w.Body.String(), "missing-") {
		t.Fatal("a raw path became a metrics label")
	}
}

func TestLatencyReportedInPhaseCapabilitiesMetrics(t *testing.T) {
	l := newLiveServer(t, nil)
	for i := 0; i < 3; i++ {
		l.get(t, "/health", nil)
	}
	var ph map[string]any
	l.get(t, "/__phase", &ph)
	est := ph["estimator"].(map[string]any)
	if ph["tracked_endpoints"].(float64) < 1 || ph["trackable_routes"] != float64(len(l.Engine().Routes())+1) || est["name"] == "" || est["reason"] == "" {
		t.Fatalf("__phase %v", ph)
	}
	var caps map[string]any
	l.get(t, "/ml-capabilities", &caps)
	tracked, _ := caps["tdigest_tracked_endpoints"].([]any)
	if !slices.Contains(tracked, any("GET /health")) || !slices.Contains(tracked, any("GET /__phase")) || caps["estimator"].(map[string]any)["name"] != est["name"] {
		t.Fatalf("capabilities %v", caps)
	}
	resp, err := http.Get(l.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`http_request_duration_seconds_bucket{method="GET",route="/health",status_class="2xx",le="0.0001"}`,
		`http_request_duration_seconds_count{method="GET",route="/health",status_class="2xx"} 3`,
		"latency_samples_dropped_total 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The engine is offered to the groups.
	src, ok := l.deps.Services.Latency.Get()
	if !ok {
		t.Fatal("latency source not provided")
	}
	found := false
	for _, rl := range src.Snapshot() {
		found = found || rl.Route == "GET /health" && rl.Count >= 3 && len(rl.Samples) >= 3
	}
	if !found {
		t.Fatalf("snapshot %+v", src.Snapshot())
	}
}

func TestLatencyFallbackFromConfiguration(t *testing.T) {
	l := newLiveServer(t, map[string]string{"TDIGEST_COMPRESSION": "0.5"})
	var h map[string]any
	l.get(t, "/health", &h)
	if h["fallback_tdigest"] != true {
		t.Fatalf("health %v", h)
	}
	var ph map[string]any
	l.get(t, "/__phase", &ph)
	est := ph["estimator"].(map[string]any)
	wantReason := "TDIGEST_COMPRESSION"
	if latency.Select(100, 64).Info.Fallback { // a notdigest build says so instead
		wantReason = "notdigest"
	}
	if est["name"] != "reservoir" || est["fallback"] != true || !strings.Contains(est["reason"].(string), wantReason) {
		t.Fatalf("estimator %v", est)
	}
	var caps map[string]any
	l.get(t, "/ml-capabilities", &caps)
	if caps["tdigest_fallback"] != true {
		t.Fatal("capabilities do not report the fallback")
	}
	var q quantileBody
	l.get(t, "/api/v2/latency/quantiles", &q)
	if q.Estimator.Name != "reservoir" || q.Routes["GET /health"]["count"] != 1.0 || q.Routes["GET /health"]["p50"] == nil {
		t.Fatalf("quantiles under the fallback %+v", q)
	}
}
