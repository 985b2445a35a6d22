package optional

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/httpapi"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// recLatency and recOverrides record what the registry applies. They are
// in-test implementations of core's interfaces (the latency engine and the
// rate limiter are other packages); the e2e tests use the real ones.
type recLatency struct {
	mu      sync.Mutex
	targets map[string]float64
	calls   int
}

func (r *recLatency) Snapshot() []groupapi.RouteLatency { return nil }
func (r *recLatency) SetSLOTargets(t map[string]float64) {
	r.mu.Lock()
	r.targets, r.calls = t, r.calls+1
	r.mu.Unlock()
}
func (r *recLatency) get() (map[string]float64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.targets, r.calls
}

type recOverrides struct {
	mu sync.Mutex
	ov map[string]groupapi.RateOverride
}

func (r *recOverrides) SetOverrides(o map[string]groupapi.RateOverride) {
	r.mu.Lock()
	r.ov = o
	r.mu.Unlock()
}
func (r *recOverrides) get() map[string]groupapi.RateOverride {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ov
}

// idle is a linked group with no routes, to be switched off and on.
type idle struct{}

func (idle) Setup(*groupapi.Host) error  { return nil }
func (idle) Start(context.Context) error { return nil }
func (idle) Stop(context.Context) error  { return nil }
func (idle) Status() groupapi.Status     { return groupapi.Status{Ready: true} }

type rig struct {
	base    string
	handler http.Handler
	f       *feature
	rt      *lifecycle.Runtime
	lat     *recLatency
	ov      *recOverrides
	sig     chan chan<- os.Signal
	pl      *phase.Log
}

// newRig mounts a fresh optional feature (and an idle ml group behind the
// group gate, the way core's router does) on a real gin engine served over
// loopback. Signals are delivered through rig.sig instead of the process.
func newRig(t testing.TB, env map[string]string, withServices bool) *rig {
	t.Helper()
	cfg := grouptest.Config(t, "optional", Settings(), env)
	r := &rig{lat: &recLatency{}, ov: &recOverrides{}, sig: make(chan chan<- os.Signal, 1)}
	r.f = newFeature(cfg.Group("optional"))
	r.f.notify = func(c chan<- os.Signal) { r.sig <- c }
	r.f.stopNotify = func(chan<- os.Signal) {}
	r.rt = lifecycle.New(map[string]groupapi.Feature{"ml": idle{}, "optional": r.f}, capability.BuildFacts{}, false)
	svc := &groupapi.Services{}
	if withServices {
		svc.Latency.Provide(r.lat)
		svc.RateLimitOverrides.Provide(r.ov)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.pl = phase.New(logger)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	var limits apierr.RouteLimits
	e.Use(apierr.LimitBodyRoutes(cfg.MaxBodyBytes, &limits))
	gate := func(group string) gin.HandlerFunc {
		return func(c *gin.Context) {
			if !r.rt.Enabled(group) {
				apierr.Abort(c, 503, "group_disabled", r.rt.DisabledReason(group))
				return
			}
			c.Next()
		}
	}
	e.GET("/api/v2/ml/ping", gate("ml"), func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })
	svc.Switches.Provide(r.rt)
	if err := r.f.Setup(&groupapi.Host{Logger: logger, Phase: r.pl,
		Routes: httpapi.GroupRoutes(e.Group("", gate("optional")), auth.TokenGuard("s3cret"), &limits), Services: capability.UsesOf("optional").View(svc, "optional")}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	r.base, r.handler = ts.URL, e
	return r
}

func (r *rig) start(t *testing.T) {
	t.Helper()
	if err := r.f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.f.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
}

func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func errMsg(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

const admin = "X-Admin-Token"

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryLoadReloadAndKeepOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	writeFile(t, path, goodYAML)
	r := newRig(t, map[string]string{"REGISTRY_FILE": path}, true)
	r.start(t)

	// Loaded at start and applied: SLO targets, overrides, vector ignored (not linked here).
	targets, _ := r.lat.get()
	if len(targets) != 2 || targets["GET /api/v2/llm/chat"] != 1200.5 {
		t.Fatalf("slo targets %v", targets)
	}
	if ov := r.ov.get(); len(ov) != 2 || ov["POST /api/v2/llm/chat"].Burst != 10 {
		t.Fatalf("overrides %v", ov)
	}
	if st := r.f.Status(); !st.Ready || !strings.Contains(st.Detail, "REGISTRY_FILE in force (yaml)") {
		t.Fatalf("status %+v", st)
	}

	// The view is admin-only.
	if code, _ := do(t, "GET", r.base+"/admin/registry", nil); code != 401 {
		t.Fatalf("view without token: %d", code)
	}
	code, v := do(t, "GET", r.base+"/admin/registry", nil, admin, "s3cret")
	if code != 200 || v["file"] != path || v["loads"].(float64) != 1 || v["last_error"] != nil ||
		v["loaded"].(map[string]any)["trigger"] != "start" || v["loaded"].(map[string]any)["format"] != "yaml" {
		t.Fatalf("view: %d %v", code, v)
	}
	if g := v["applied"].(map[string]any)["groups"].(string); !strings.Contains(g, "vector ignored: not linked into the custom variant") {
		t.Fatalf("applied groups: %q", g)
	}
	active := v["active"].(map[string]any)
	if active["slo"].(map[string]any)["GET /api/v2/ml/anomalies"].(map[string]any)["p95_ms"].(float64) != 250 {
		t.Fatalf("active: %v", active)
	}

	// Switch ml off with a JSON file: the gate answers 503 with the reason.
	writeFile(t, path, "groups:\n  ml: {enabled: false, reason: maintenance}\nslo:\n  \"GET /a\": {p95_ms: 100}\n")
	code, v = do(t, "POST", r.base+"/admin/registry/reload", nil, admin, "s3cret")
	if code != 200 || v["loads"].(float64) != 2 {
		t.Fatalf("reload: %d %v", code, v)
	}
	code, m := do(t, "GET", r.base+"/api/v2/ml/ping", nil)
	if code != 503 || !strings.Contains(errMsg(m), "switched off by registry file") || !strings.Contains(errMsg(m), "maintenance") {
		t.Fatalf("ml after switch-off: %d %v", code, m)
	}
	if targets, _ := r.lat.get(); len(targets) != 1 || targets["GET /a"] != 100 {
		t.Fatalf("targets after reload: %v", targets)
	}
	if ov := r.ov.get(); ov != nil {
		t.Fatalf("overrides not cleared: %v", ov)
	}

	// An invalid file is rejected with line and field; ml stays off, targets stay.
	writeFile(t, path, "groups:\n  ml: {enabled: false}\nslo:\n  \"GET /a\": {p95_ms: -1}\n")
	_, callsBefore := r.lat.get()
	code, m = do(t, "POST", r.base+"/admin/registry/reload", nil, admin, "s3cret")
	if code != 400 || !strings.Contains(errMsg(m), "line 4") || !strings.Contains(errMsg(m), `field slo."GET /a".p95_ms`) ||
		!strings.Contains(errMsg(m), "previous configuration stays in force") {
		t.Fatalf("invalid reload: %d %v", code, m)
	}
	if targets, calls := r.lat.get(); calls != callsBefore || targets["GET /a"] != 100 {
		t.Fatalf("rejected file touched the latency engine: %v %d", targets, calls)
	}
	if code, _ := do(t, "GET", r.base+"/api/v2/ml/ping", nil); code != 503 {
		t.Fatalf("ml switched back on by a rejected file: %d", code)
	}
	_, v = do(t, "GET", r.base+"/admin/registry", nil, admin, "s3cret")
	le := v["last_error"].(map[string]any)
	if le["line"].(float64) != 4 || le["field"] != `slo."GET /a".p95_ms` || v["rejected"].(float64) != 1 || v["loads"].(float64) != 2 ||
		v["active"].(map[string]any)["slo"].(map[string]any)["GET /a"] == nil {
		t.Fatalf("view after rejection: %v", v)
	}
	if st := r.f.Status(); !st.Ready || !strings.Contains(st.Detail, "last reload was rejected") {
		t.Fatalf("status after rejection %+v", st)
	}

	// JSON text in the .yaml file (the extension decides: read as YAML, of
	// which JSON is a subset) switches ml back on.
	writeFile(t, path, `{"groups": {"ml": {"enabled": true}}}`)
	if code, v := do(t, "POST", r.base+"/admin/registry/reload", nil, admin, "s3cret"); code != 200 ||
		v["loaded"].(map[string]any)["format"] != "yaml" {
		t.Fatalf("json reload: %d %v", code, v)
	}
	if code, _ := do(t, "GET", r.base+"/api/v2/ml/ping", nil); code != 200 {
		t.Fatalf("ml not back on: %d", code)
	}
	if targets, _ := r.lat.get(); targets != nil {
		t.Fatalf("slo targets not cleared: %v", targets)
	}

	// A missing file: unreadable, old config kept.
	os.Remove(path)
	code, m = do(t, "POST", r.base+"/admin/registry/reload", nil, admin, "s3cret")
	if code != 400 || !strings.Contains(errMsg(m), "no such file") {
		t.Fatalf("missing file: %d %v", code, m)
	}
	if code, _ := do(t, "POST", r.base+"/admin/registry/reload", nil); code != 401 {
		t.Fatalf("reload without token: %d", code)
	}
}

func TestRegistryRejectedAtStartThenFixedBySignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reg.json")
	writeFile(t, path, "{\n  \"groups\": {\"ml\": {\"enabled\": \"off\"}}\n}\n")
	r := newRig(t, map[string]string{"REGISTRY_FILE": path}, true)
	r.start(t)
	st := r.f.Status()
	if st.Ready || !strings.Contains(st.Detail, "line 2") || !strings.Contains(st.Detail, "groups.ml.enabled") {
		t.Fatalf("status with a bad file at start: %+v", st)
	}
	found := false
	for _, e := range r.pl.Last(50) {
		if strings.Contains(e.Msg, "REGISTRY: "+path+" rejected (start)") && strings.Contains(e.Msg, "no registry configuration in force") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no phase event for the rejection: %+v", r.pl.Last(50))
	}
	// Fix the file and deliver a SIGHUP through the watcher's channel.
	writeFile(t, path, `{"groups": {"ml": {"enabled": false}}}`)
	var sig chan<- os.Signal
	select {
	case sig = <-r.sig:
	case <-time.After(5 * time.Second):
		t.Fatal("watcher did not subscribe")
	}
	sig <- fakeHUP{}
	waitfor.True(t, 5*time.Second, "the reload by SIGHUP", func() bool { return !r.rt.Enabled("ml") })
	if v := r.f.reg.View(); v.Loaded.Trigger != "hangup" || !r.f.Status().Ready {
		t.Fatalf("after signal: %+v", v)
	}
}

type fakeHUP struct{}

func (fakeHUP) String() string { return "hangup" }
func (fakeHUP) Signal()        {}

func TestRegistryWithoutFileOrServices(t *testing.T) {
	r := newRig(t, nil, false)
	r.start(t)
	code, m := do(t, "POST", r.base+"/admin/registry/reload", nil, admin, "s3cret")
	if code != 400 || !strings.Contains(errMsg(m), "REGISTRY_FILE is not set") {
		t.Fatalf("%d %v", code, m)
	}
	code, v := do(t, "GET", r.base+"/admin/registry", nil, admin, "s3cret")
	if code != 200 || v["active"] != nil || v["file"] != "" {
		t.Fatalf("%d %v", code, v)
	}
	if st := r.f.Status(); !st.Ready || !strings.Contains(st.Detail, "no REGISTRY_FILE") {
		t.Fatalf("%+v", st)
	}

	// With a file but no latency source or limiter: recorded as not applied.
	path := filepath.Join(t.TempDir(), "r.yaml")
	writeFile(t, path, goodYAML)
	r2 := newRig(t, map[string]string{"REGISTRY_FILE": path}, false)
	r2.start(t)
	a := r2.f.reg.View().Applied
	if !strings.HasPrefix(a["slo"], "not applied: no latency source") || !strings.HasPrefix(a["rate_limits"], "not applied") {
		t.Fatalf("applied: %v", a)
	}
}

func TestStopEndsTheWatcher(t *testing.T) {
	r := newRig(t, nil, true)
	if err := r.f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := r.f.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("watcher still running after Stop")
	}
	if err := r.f.Stop(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
}

// TestSubscribesBeforeTheFirstLoad: the SIGHUP watcher is subscribed before
// the start-up load, so a SIGHUP sent as soon as that load is visible (an
// operator who has just fixed the file) is never lost to the window between
// the two, where the process ignores SIGHUP.
func TestSubscribesBeforeTheFirstLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	writeFile(t, path, goodYAML)
	r := newRig(t, map[string]string{"REGISTRY_FILE": path}, true)
	loadsAtSubscribe := -1
	r.f.notify = func(c chan<- os.Signal) {
		loadsAtSubscribe = r.f.reg.View().Loads
		r.sig <- c
	}
	r.start(t)
	if loadsAtSubscribe != 0 {
		t.Fatalf("subscribed to SIGHUP after %d load(s): a SIGHUP in between is lost", loadsAtSubscribe)
	}
	if v := r.f.reg.View(); v.Loads != 1 {
		t.Fatalf("start-up load: %+v", v)
	}
}
