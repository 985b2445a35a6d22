package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// panicky is a test group that mounts a route under its prefix that panics.
type panicky struct{}

func (panicky) Setup(h *groupapi.Host) error {
	h.Routes.Handle("GET", "/api/v2/ml/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	h.Routes.Handle("GET", "/api/v2/ml/ok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apierr.WriteJSON(w, r, 200, map[string]any{"ok": true}) }))
	return nil
}
func (panicky) Start(context.Context) error { return nil }
func (panicky) Stop(context.Context) error  { return nil }
func (panicky) Status() groupapi.Status     { return groupapi.Status{Ready: true, Detail: "test"} }

func newTestServer(t *testing.T, env map[string]string) (*Server, *lifecycle.Runtime) {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "gonum.org/v1/gonum", Version: "v0.17.0"}}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt := lifecycle.New(map[string]groupapi.Feature{"ml": panicky{}}, capability.FactsFrom(bi), cfg.MinimalMode)
	s, err := wire(Deps{Config: cfg, Logger: logger, Phase: phase.New(nil), Groups: rt,
		Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, rt
}

func do(t *testing.T, s *Server, method, path string) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = "127.0.0.1:5555"
	s.Handler().ServeHTTP(w, r)
	var body map[string]any
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, w.Body.String())
		}
	}
	return w.Code, body
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestCoreEndpoints(t *testing.T) {
	s, _ := newTestServer(t, nil)
	code, h := do(t, s, "GET", "/health")
	if code != 200 || h["status"] != "ok" || h["phase"] != "early" || h["minimal"] != false {
		t.Fatalf("health %d %v", code, h)
	}
	if _, ok := h["fallback_tdigest"]; !ok {
		t.Fatal("health lacks fallback_tdigest")
	}
	code, caps := do(t, s, "GET", "/ml-capabilities")
	if code != 200 {
		t.Fatal(code)
	}
	for _, k := range []string{"minimal_mode", "safe_mode", "include_tensorflow_flag", "heavy_dependencies", "tdigest_fallback", "tdigest_tracked_endpoints", "variant", "build_tags", "go_version", "groups"} {
		if _, ok := caps[k]; !ok {
			t.Errorf("ml-capabilities lacks %s", k)
		}
	}
	groups := caps["groups"].(map[string]any)
	if len(groups) != 4 || groups["ml"].(map[string]any)["linked"] != true || groups["llm"].(map[string]any)["linked"] != false {
		t.Fatalf("groups %v", groups)
	}
	if code, _ := do(t, s, "GET", "/__phase"); code != 200 {
		t.Fatal("__phase", code)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"advanced_backend_build_info{", `advanced_backend_group_linked{group="ml"} 1`, `advanced_backend_group_linked{group="llm"} 0`, "advanced_backend_group_ready"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/executive_dashboard.html", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "/ml-capabilities") {
		t.Fatalf("dashboard %d", w.Code)
	}
	if code, _ := do(t, s, "GET", "/"); code != http.StatusFound {
		t.Fatalf("/ answered %d", code)
	}
}

func TestHeartbeatBounds(t *testing.T) {
	s, _ := newTestServer(t, nil)
	for i := 0; i < 300; i++ {
		s.deps.Phase.Info("test", "e")
	}
	for q, want := range map[string]int{"": 50, "?n=1": 1, "?n=200": 200} {
		code, body := do(t, s, "GET", "/startup/heartbeat"+q)
		if code != 200 || len(body["events"].([]any)) != want {
			t.Errorf("%q: %d, %d events", q, code, len(body["events"].([]any)))
		}
	}
	for _, q := range []string{"?n=0", "?n=201", "?n=-1", "?n=x", "?n="} {
		if code, body := do(t, s, "GET", "/startup/heartbeat"+q); code != 400 || errCode(body) != "bad_request" {
			t.Errorf("%q: %d %v", q, code, body)
		}
	}
}

func TestErrorsAreJSON(t *testing.T) {
	s, _ := newTestServer(t, nil)
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "not_found"},
		{"POST", "/health", 405, "method_not_allowed"},
		{"POST", "/api/v2/llm/chat", 501, "group_not_linked"},
		{"GET", "/api/v2/vector/collections/x", 501, "group_not_linked"},
		{"POST", "/admin/registry/reload", 501, "group_not_linked"},
		{"GET", "/api/v2/ml/missing", 404, "not_found"},
		{"GET", "/api/v2/ml/boom", 500, "internal"},
	}
	for _, tc := range cases {
		code, body := do(t, s, tc.method, tc.path)
		if code != tc.status || errCode(body) != tc.code {
			t.Errorf("%s %s: %d %v, want %d %s", tc.method, tc.path, code, body, tc.status, tc.code)
		}
	}
	_, body := do(t, s, "POST", "/api/v2/llm/chat")
	msg := body["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "group llm") || !strings.Contains(msg, "custom variant") {
		t.Fatalf("501 message should name group and variant: %q", msg)
	}
	// The server still answers after a panic.
	if code, _ := do(t, s, "GET", "/api/v2/ml/ok"); code != 200 {
		t.Fatal(code)
	}
}

func TestGroupSwitchedOffAnswers503(t *testing.T) {
	s, rt := newTestServer(t, nil)
	if err := rt.SetDisabled("ml", true, "switched off by registry file"); err != nil {
		t.Fatal(err)
	}
	code, body := do(t, s, "GET", "/api/v2/ml/ok")
	if code != 503 || errCode(body) != "group_disabled" {
		t.Fatalf("%d %v", code, body)
	}
}

func TestMinimalModeAnswers503(t *testing.T) {
	s, _ := newTestServer(t, map[string]string{"MINIMAL_MODE": "1"})
	code, body := do(t, s, "GET", "/api/v2/ml/ok")
	if code != 503 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "MINIMAL_MODE") {
		t.Fatalf("%d %v", code, body)
	}
	_, caps := do(t, s, "GET", "/ml-capabilities")
	ml := caps["groups"].(map[string]any)["ml"].(map[string]any)
	if ml["linked"] != true || ml["enabled"] != false || caps["minimal_mode"] != true {
		t.Fatalf("%v", ml)
	}
}

// TestReadyNamesGroupsNotReady: /ready is 503 while the service starts
// (phase early, the group not started), 200 once it runs; MINIMAL_MODE
// enables no group. HEAD answers on /health and /ready.
func TestReadyNamesGroupsNotReady(t *testing.T) {
	s, rt := newTestServer(t, nil)
	code, body := do(t, s, "GET", "/ready")
	nr, _ := body["not_ready"].([]any)
	if code != 503 || errCode(body) != "not_ready" || len(nr) != 1 || nr[0].(map[string]any)["group"] != "ml" ||
		!strings.Contains(body["error"].(map[string]any)["message"].(string), "starting") {
		t.Fatalf("ready before start: %d %v", code, body)
	}
	if code, _ := do(t, s, "HEAD", "/ready"); code != 503 {
		t.Fatalf("HEAD /ready before start: %d", code)
	}
	rt.StartAll(context.Background(), func(string, error) {}, time.Second)
	if code, body := do(t, s, "GET", "/ready"); code != 503 {
		t.Fatalf("ready with the groups started but the phase still early: %d %v", code, body)
	}
	s.deps.Phase.SetPhase(phase.Runtime)
	if code, body := do(t, s, "GET", "/ready"); code != 200 || body["status"] != "ready" {
		t.Fatalf("ready after start: %d %v", code, body)
	}
	for _, p := range []string{"/health", "/ready"} {
		if code, _ := do(t, s, "HEAD", p); code != 200 {
			t.Fatalf("HEAD %s: %d", p, code)
		}
	}
	m, _ := newTestServer(t, map[string]string{"MINIMAL_MODE": "1"})
	m.deps.Phase.SetPhase(phase.Runtime)
	if code, body := do(t, m, "GET", "/ready"); code != 200 {
		t.Fatalf("ready in MINIMAL_MODE: %d %v", code, body)
	}
	// A required group that MINIMAL_MODE keeps off can never be ready.
	mr, _ := newTestServer(t, map[string]string{"MINIMAL_MODE": "1", "READY_REQUIRE": "ml"})
	mr.deps.Phase.SetPhase(phase.Runtime)
	if code, body := do(t, mr, "GET", "/ready"); code != 503 || !strings.Contains(fmt.Sprint(body["error"]), "required group ml is off") {
		t.Fatalf("ready in MINIMAL_MODE with ml required: %d %v", code, body)
	}
}

// switchable is a test group whose status the test sets.
type switchable struct {
	panicky
	st *atomic.Pointer[groupapi.Status]
}

func (f switchable) Status() groupapi.Status { return *f.st.Load() }

func newSwitchable(t *testing.T, env map[string]string) (*Server, *atomic.Pointer[groupapi.Status]) {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	st := &atomic.Pointer[groupapi.Status]{}
	st.Store(&groupapi.Status{Ready: true, Detail: "fine"})
	rt := lifecycle.New(map[string]groupapi.Feature{"ml": switchable{st: st}}, capability.FactsFrom(&debug.BuildInfo{}), false)
	s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Phase: phase.New(nil), Groups: rt,
		Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	rt.StartAll(context.Background(), func(string, error) {}, time.Second)
	s.deps.Phase.SetPhase(phase.Runtime)
	return s, st
}

// TestReadyDegradedIsStillReady (issue 22): a group that degrades
// gracefully, or even one that cannot serve, leaves /ready at 200 with the
// group listed (and the degraded gauge at 1); only READY_REQUIRE turns it
// into a 503, degraded or not.
func TestReadyDegradedIsStillReady(t *testing.T) {
	for _, required := range []bool{false, true} {
		env := map[string]string{}
		if required {
			env["READY_REQUIRE"] = "ml"
		}
		s, st := newSwitchable(t, env)
		if code, body := do(t, s, "GET", "/ready"); code != 200 || len(body["degraded"].([]any)) != 0 || len(body["not_ready"].([]any)) != 0 {
			t.Fatalf("required=%t, ready group: %d %v", required, code, body)
		}
		for _, c := range []struct {
			st   groupapi.Status
			list string
		}{
			{groupapi.Status{Degraded: true, Detail: "redis down (local rate limits)"}, "degraded"},
			{groupapi.Status{Detail: "start failed: boom"}, "not_ready"},
		} {
			st.Store(&c.st)
			code, body := do(t, s, "GET", "/ready")
			l, _ := body[c.list].([]any)
			if len(l) != 1 || l[0].(map[string]any)["group"] != "ml" || l[0].(map[string]any)["detail"] != c.st.Detail {
				t.Fatalf("required=%t, %+v: %s lists %v", required, c.st, c.list, body[c.list])
			}
			want := 200
			if required {
				want = 503
				if !strings.Contains(fmt.Sprint(body["error"]), "required group ml is not ready ("+c.st.Detail+")") {
					t.Errorf("required=%t: 503 does not say why: %v", required, body["error"])
				}
			}
			if code != want {
				t.Fatalf("required=%t, %+v: /ready %d, want %d: %v", required, c.st, code, want, body)
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
			g := `advanced_backend_group_degraded{group="ml"} ` + map[bool]string{true: "1", false: "0"}[c.st.Degraded]
			if !strings.Contains(w.Body.String(), g) {
				t.Errorf("metrics lack %s", g)
			}
		}
	}
}

// TestDrainingIsNotReady: once draining, /ready is 503 saying so while
// every route still answers, and every answer closes its connection.
func TestDrainingIsNotReady(t *testing.T) {
	s, _ := newSwitchable(t, nil)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 200 || w.Header().Get("Connection") != "" {
		t.Fatalf("before the drain: %d, Connection %q", w.Code, w.Header().Get("Connection"))
	}
	s.StartDrain()
	code, body := do(t, s, "GET", "/ready")
	if code != 503 || body["draining"] != true || !strings.Contains(fmt.Sprint(body["error"]), "draining") {
		t.Fatalf("/ready while draining: %d %v", code, body)
	}
	for _, p := range []string{"/health", "/api/v2/ml/ok", "/ready"} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if (w.Code != 200 && p != "/ready") || w.Header().Get("Connection") != "close" {
			t.Errorf("%s while draining: %d, Connection %q", p, w.Code, w.Header().Get("Connection"))
		}
	}
}

// TestSeedFieldsKeepTheirShape: clients of the Python service parse the
// heartbeat and /ml-capabilities as the seed documents them: same names,
// same JSON types, same meaning (issue 12 item 13).
func TestSeedFieldsKeepTheirShape(t *testing.T) {
	s, _ := newTestServer(t, map[string]string{"SAFE_MODE": "1"})
	for i := 0; i < 3; i++ {
		do(t, s, "GET", "/health")
	}
	_, hb := do(t, s, "GET", "/startup/heartbeat?n=2")
	if hb["count"] != 2.0 || hb["minimal_mode"] != false || hb["safe_mode"] != true || len(hb["events"].([]any)) != 2 {
		t.Fatalf("heartbeat: %v", hb)
	}
	ev := hb["events"].([]any)[0].(map[string]any)
	if _, ok := ev["t_ms"].(float64); !ok {
		t.Fatalf("event: %v", ev)
	}
	if _, ok := ev["msg"].(string); !ok {
		t.Fatalf("event: %v", ev)
	}
	if _, ok := hb["uptime_seconds"].(float64); !ok {
		t.Fatalf("heartbeat: %v", hb)
	}

	_, caps := do(t, s, "GET", "/ml-capabilities")
	if v, ok := caps["include_tensorflow_flag"]; !ok || v != nil {
		t.Fatalf("include_tensorflow_flag unset: %#v (want null)", v)
	}
	tracked, ok := caps["tdigest_tracked_endpoints"].([]any)
	if !ok || !slices.Contains(tracked, any("GET /health")) {
		t.Fatalf("tdigest_tracked_endpoints: %#v (want the list of route keys)", caps["tdigest_tracked_endpoints"])
	}
	heavy := caps["heavy_dependencies"].(map[string]any)
	// This server links ml only: sklearn's counterpart is there, the rest not.
	for k, want := range map[string]bool{"torch": false, "sklearn": true, "langchain": false, "openai": false, "anthropic": false, "tensorflow": false} {
		if heavy[k] != want {
			t.Errorf("heavy_dependencies.%s = %v, want %v", k, heavy[k], want)
		}
	}
	for _, k := range []string{"minimal_mode", "safe_mode", "tdigest_fallback"} {
		if _, ok := caps[k].(bool); !ok {
			t.Errorf("%s: %#v", k, caps[k])
		}
	}

	on, _ := newTestServer(t, map[string]string{"INCLUDE_TENSORFLOW": "1"})
	if _, caps := do(t, on, "GET", "/ml-capabilities"); caps["include_tensorflow_flag"] != true {
		t.Fatalf("include_tensorflow_flag with INCLUDE_TENSORFLOW=1: %#v", caps["include_tensorflow_flag"])
	}
}

// greedy is a test group that asks for a service it never declared (it
// registered nothing, so it declared nothing).
type greedy struct{ panicky }

func (greedy) Setup(h *groupapi.Host) error {
	if _, err := groupapi.SourceOf(h.Services, capability.LatencyKey); err != nil {
		return err
	}
	h.Routes.Handle("GET", "/api/v2/ml/ok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apierr.WriteJSON(w, r, 200, map[string]any{"ok": true}) }))
	return nil
}

// TestUndeclaredServiceFailsSetupAtStart: a group reaching for a service
// outside its declaration is caught while the router is built, reported
// by the phase log and /ready with the reason, and never mounts a route
// that could meet a nil service at request time.
func TestUndeclaredServiceFailsSetupAtStart(t *testing.T) {
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rt := lifecycle.New(map[string]groupapi.Feature{"ml": greedy{}}, capability.FactsFrom(&debug.BuildInfo{}), false)
	pl := phase.New(nil)
	s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Phase: pl, Groups: rt,
		Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// (the phase log's line is the composition root's: internal/service's TestWiringReports)
	const why = "capability: group ml reads service latency without declaring it in GroupInfo.Uses.Reads"
	pl.SetPhase(phase.Runtime)
	code, body := do(t, s, "GET", "/ready")
	if code != 200 || !strings.Contains(fmt.Sprint(body["not_ready"]), why) {
		t.Fatalf("/ready: %d %v (a group that is not required is reported, not a 503)", code, body)
	}
	if code, _ := do(t, s, "GET", "/api/v2/ml/ok"); code == 200 {
		t.Fatal("the group's route was mounted")
	}
}
