package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

const secSecret = "httpapi-test-secret-0123456789abcdef"

// secGroup is a test group (registered as ml) with a user route and an
// admin-only route (groupapi.AdminOnly).
type secGroup struct{}

func (secGroup) Setup(h *groupapi.Host) error {
	h.Routes.Handle("GET", "/api/v2/ml/ok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apierr.WriteJSON(w, r, 200, map[string]any{"ok": true}) }))
	h.Routes.Handle("GET", "/api/v2/ml/other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apierr.WriteJSON(w, r, 200, map[string]any{"ok": true}) }))
	h.Routes.Handle("POST", "/api/v2/ml/admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierr.WriteJSON(w, r, 200, map[string]any{"admin": true})
	}), groupapi.AdminOnly)
	return nil
}
func (secGroup) Start(context.Context) error { return nil }
func (secGroup) Stop(context.Context) error  { return nil }
func (secGroup) Status() groupapi.Status     { return groupapi.Status{Ready: true} }

type secEnv struct {
	s        *Server
	base     string
	services *groupapi.Services
	metrics  *prometheus.Registry
}

// newSecServer serves the real gin stack on a loopback port.
func newSecServer(t *testing.T, env map[string]string) secEnv {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "gonum.org/v1/gonum", Version: "v0.17.0"}}}
	rt := lifecycle.New(map[string]groupapi.Feature{"ml": secGroup{}}, capability.FactsFrom(bi), cfg.MinimalMode)
	svcs := &groupapi.Services{}
	reg := prometheus.NewRegistry()
	s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Phase: phase.New(nil),
		Groups: rt, Metrics: reg, Services: svcs})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return secEnv{s: s, base: ts.URL, services: svcs, metrics: reg}
}

// clientFrom returns an HTTP client whose connections come from the given
// loopback address (127.0.0.0/8 is all loopback on Linux), so that tests
// can be several clients for the limiter.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

type reply struct {
	code int
	hdr  http.Header
	body map[string]any
}

func (e secEnv) do(t *testing.T, c *http.Client, method, path string, hdr map[string]string, body string) reply {
	t.Helper()
	if c == nil {
		c = clientFrom("127.0.0.1")
	}
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{code: resp.StatusCode, hdr: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, b)
		}
	}
	return r
}

func bearer(t *testing.T, sub string, roles ...string) map[string]string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "roles": roles, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString([]byte(secSecret))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Authorization": "Bearer " + tok}
}

func eventsOf(t *testing.T, e secEnv) []map[string]any {
	t.Helper()
	r := e.do(t, nil, "GET", "/startup/heartbeat?n=200", nil, "")
	var out []map[string]any
	for _, ev := range r.body["events"].([]any) {
		out = append(out, ev.(map[string]any))
	}
	return out
}

func hasEvent(evs []map[string]any, level, substr string) bool {
	for _, ev := range evs {
		if ev["level"] == level && strings.Contains(ev["msg"].(string), substr) {
			return true
		}
	}
	return false
}

// TestSecurityModesAreVisible: each of the three modes shows in /health,
// /__phase and the heartbeat (modes and phase events).
func TestSecurityModesAreVisible(t *testing.T) {
	for _, tc := range []struct {
		name             string
		env              map[string]string
		auth, rate, gate string
		level, event     string
	}{
		{"safe mode", map[string]string{"SAFE_MODE": "1", "JWT_SECRET": secSecret, "ADMIN_RESET_TOKEN": "tok"},
			"off (SAFE_MODE)", "off (SAFE_MODE)", "ADMIN_RESET_TOKEN", "warn", "INIT: SAFE_MODE active - auth and rate limiting skipped"},
		{"not configured", nil,
			"off (JWT not configured)", "local", "loopback only", "warn", "INIT: JWT not configured"},
		{"jwt", map[string]string{"JWT_SECRET": secSecret},
			"jwt-hs256", "local", "jwt (role admin)", "info", "INIT: JWT auth on (HS256)"},
		{"rate limit off", map[string]string{"JWT_SECRET": secSecret, "RATE_LIMIT_RPS": "0"},
			"jwt-hs256", "off (RATE_LIMIT_RPS=0)", "jwt (role admin)", "warn", "INIT: RATE_LIMIT_RPS=0 - rate limiting off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSecServer(t, tc.env)
			h := e.do(t, nil, "GET", "/health", nil, "")
			if h.body["auth"] != tc.auth || h.body["rate_limit"] != tc.rate {
				t.Errorf("/health %v", h.body)
			}
			p := e.do(t, nil, "GET", "/__phase", nil, "")
			if p.body["auth"] != tc.auth || p.body["rate_limit"] != tc.rate || p.body["admin_guard"] != tc.gate {
				t.Errorf("/__phase %v", p.body)
			}
			hb := e.do(t, nil, "GET", "/startup/heartbeat", nil, "")
			modes := hb.body["modes"].(map[string]any)
			if modes["auth"] != tc.auth || modes["rate_limit"] != tc.rate {
				t.Errorf("heartbeat modes %v", modes)
			}
			if evs := eventsOf(t, e); !hasEvent(evs, tc.level, tc.event) {
				t.Errorf("no %s event %q in %v", tc.level, tc.event, evs)
			}
		})
	}
}

func TestGuardsWithJWT(t *testing.T) {
	e := newSecServer(t, map[string]string{"JWT_SECRET": secSecret, "ADMIN_RESET_TOKEN": "tok"})
	r := e.do(t, nil, "GET", "/api/v2/ml/ok", nil, "")
	if r.code != 401 || !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d %v", r.code, r.hdr)
	}
	if r := e.do(t, nil, "GET", "/api/v2/ml/ok", map[string]string{"Authorization": "Bearer x.y.z"}, ""); r.code != 401 ||
		!strings.Contains(r.hdr.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("bad token: %d %v", r.code, r.hdr)
	}
	if r := e.do(t, nil, "GET", "/api/v2/ml/ok", bearer(t, "u1", "user"), ""); r.code != 200 {
		t.Fatalf("user token: %d", r.code)
	}
	if r := e.do(t, nil, "POST", "/api/v2/ml/admin", bearer(t, "u1", "user"), ""); r.code != 403 {
		t.Fatalf("user on admin route: %d", r.code)
	}
	if r := e.do(t, nil, "POST", "/api/v2/ml/admin", bearer(t, "a1", "admin"), ""); r.code != 200 {
		t.Fatalf("admin: %d", r.code)
	}
	// With JWT on, the reset token is not an admin credential.
	if r := e.do(t, nil, "POST", "/api/v2/ml/admin", map[string]string{"X-Admin-Token": "tok"}, ""); r.code != 401 {
		t.Fatalf("ADMIN_RESET_TOKEN accepted while JWT is on: %d", r.code)
	}
	// Core endpoints need no token.
	for _, p := range []string{"/health", "/__phase", "/ml-capabilities", "/startup/heartbeat", "/metrics"} {
		if r := e.do(t, nil, "GET", p, nil, ""); r.code != 200 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
}

func TestFallbackGuards(t *testing.T) {
	for _, env := range []map[string]string{
		{"SAFE_MODE": "on", "JWT_SECRET": secSecret, "ADMIN_RESET_TOKEN": "reset-tok"},
		{"ADMIN_RESET_TOKEN": "reset-tok"},
	} {
		e := newSecServer(t, env)
		if r := e.do(t, nil, "GET", "/api/v2/ml/ok", nil, ""); r.code != 200 {
			t.Errorf("%v: group route without token: %d", env, r.code)
		}
		if r := e.do(t, nil, "POST", "/api/v2/ml/admin", bearer(t, "a1", "admin"), ""); r.code != 401 {
			t.Errorf("%v: admin JWT accepted with auth off: %d", env, r.code)
		}
		if r := e.do(t, nil, "POST", "/api/v2/ml/admin", map[string]string{"X-Admin-Token": "wrong"}, ""); r.code != 401 {
			t.Errorf("%v: wrong reset token: %d", env, r.code)
		}
		if r := e.do(t, nil, "POST", "/api/v2/ml/admin", map[string]string{"X-Admin-Token": "reset-tok"}, ""); r.code != 200 {
			t.Errorf("%v: reset token: %d", env, r.code)
		}
		if r := e.do(t, nil, "POST", "/auth/token", map[string]string{"Content-Type": "application/json"}, `{"username":"a","password":"b"}`); r.code != 503 {
			t.Errorf("%v: /auth/token with auth off: %d", env, r.code)
		}
	}
}

func writeUsersFile(t *testing.T) string {
	t.Helper()
	h, err := auth.HashPassword([]byte("alice-pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "users.json")
	body := fmt.Sprintf(`{"users":[{"username":"alice","password_hash":%q,"roles":["admin"]}]}`, h)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenEndpointOverTheStack(t *testing.T) {
	e := newSecServer(t, map[string]string{"JWT_SECRET": secSecret, "USERS_FILE": writeUsersFile(t), "JWT_TTL": "5m", "MAX_BODY_BYTES": "4096"})
	r := e.do(t, nil, "POST", "/auth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "username=alice&password=alice-pw")
	if r.code != 200 || r.body["token_type"] != "bearer" || r.body["expires_in"] != float64(300) {
		t.Fatalf("token: %d %v", r.code, r.body)
	}
	tok := r.body["access_token"].(string)
	if r := e.do(t, nil, "POST", "/api/v2/ml/admin", map[string]string{"Authorization": "Bearer " + tok}, ""); r.code != 200 {
		t.Fatalf("issued admin token: %d", r.code)
	}
	if r := e.do(t, nil, "POST", "/auth/token", map[string]string{"Content-Type": "application/json"}, `{"username":"alice","password":"nope"}`); r.code != 401 {
		t.Fatalf("wrong password: %d", r.code)
	}
	big := `{"username":"alice","password":"` + strings.Repeat("p", 5000) + `"}`
	if r := e.do(t, nil, "POST", "/auth/token", map[string]string{"Content-Type": "application/json"}, big); r.code != 413 {
		t.Fatalf("oversized body: %d", r.code)
	}
	if !hasEvent(eventsOf(t, e), "info", "POST /auth/token issues tokens for 1 users") {
		t.Fatal("no users event")
	}
}

func TestRateLimitOverTheStack(t *testing.T) {
	e := newSecServer(t, map[string]string{"JWT_SECRET": secSecret, "RATE_LIMIT_RPS": "0.001", "RATE_LIMIT_BURST": "3"})
	a, b := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	for i := 0; i < 3; i++ {
		if r := e.do(t, a, "GET", "/api/v2/ml/ok", nil, ""); r.code != 401 { // counted, then refused by auth
			t.Fatalf("request %d: %d", i, r.code)
		}
	}
	r := e.do(t, a, "GET", "/api/v2/ml/ok", nil, "")
	if r.code != 429 || r.hdr.Get("Retry-After") == "" || r.hdr.Get("X-RateLimit-Limit") != "3" ||
		r.hdr.Get("X-RateLimit-Remaining") != "0" || r.hdr.Get("X-RateLimit-Reset") == "" || errCode(r.body) != "rate_limited" {
		t.Fatalf("4th: %d %v %v", r.code, r.hdr, r.body)
	}
	// A forged X-Forwarded-For does not buy a new bucket: no proxy is trusted.
	if r := e.do(t, a, "GET", "/api/v2/ml/ok", map[string]string{"X-Forwarded-For": "203.0.113.7"}, ""); r.code != 429 {
		t.Fatalf("X-Forwarded-For trusted by default: %d", r.code)
	}
	// Exempt endpoints still answer the limited client.
	for _, p := range []string{"/health", "/__phase", "/metrics", "/startup/heartbeat", "/executive_dashboard.html"} {
		if r := e.do(t, a, "GET", p, nil, ""); r.code != 200 {
			t.Errorf("exempt %s: %d", p, r.code)
		}
	}
	// Not exempt: capabilities count like any route.
	if r := e.do(t, a, "GET", "/ml-capabilities", nil, ""); r.code != 429 {
		t.Errorf("/ml-capabilities: %d", r.code)
	}
	// Another IP has its own bucket.
	if r := e.do(t, b, "GET", "/api/v2/ml/ok", bearer(t, "carol"), ""); r.code != 200 {
		t.Fatalf("other client: %d", r.code)
	}
	// An authenticated client is keyed by subject: carol's bucket follows
	// her to the limited IP, and dave from the same IP has his own.
	for i := 0; i < 2; i++ {
		if r := e.do(t, a, "GET", "/api/v2/ml/ok", bearer(t, "carol"), ""); r.code != 200 {
			t.Fatalf("carol from a (%d): %d", i, r.code)
		}
	}
	if r := e.do(t, a, "GET", "/api/v2/ml/ok", bearer(t, "carol"), ""); r.code != 429 {
		t.Fatalf("carol's 4th: %d", r.code)
	}
	if r := e.do(t, a, "GET", "/api/v2/ml/ok", bearer(t, "dave"), ""); r.code != 200 {
		t.Fatalf("dave: %d", r.code)
	}
}

func TestTrustedProxies(t *testing.T) {
	e := newSecServer(t, map[string]string{"RATE_LIMIT_RPS": "0.001", "RATE_LIMIT_BURST": "1", "TRUSTED_PROXIES": "127.0.0.4/32"})
	proxy, direct := clientFrom("127.0.0.4"), clientFrom("127.0.0.5")
	for _, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		if r := e.do(t, proxy, "GET", "/api/v2/ml/ok", map[string]string{"X-Forwarded-For": ip}, ""); r.code != 200 {
			t.Fatalf("via trusted proxy for %s: %d", ip, r.code)
		}
	}
	if r := e.do(t, proxy, "GET", "/api/v2/ml/ok", map[string]string{"X-Forwarded-For": "198.51.100.1"}, ""); r.code != 429 {
		t.Fatalf("forwarded client not limited: %d", r.code)
	}
	e.do(t, direct, "GET", "/api/v2/ml/ok", map[string]string{"X-Forwarded-For": "198.51.100.9"}, "")
	if r := e.do(t, direct, "GET", "/api/v2/ml/ok", map[string]string{"X-Forwarded-For": "198.51.100.10"}, ""); r.code != 429 {
		t.Fatalf("untrusted peer's X-Forwarded-For believed: %d", r.code)
	}
}

func TestSafeModeInstallsNoLimiter(t *testing.T) {
	e := newSecServer(t, map[string]string{"SAFE_MODE": "1", "RATE_LIMIT_RPS": "0.001", "RATE_LIMIT_BURST": "1"})
	for i := 0; i < 10; i++ {
		r := e.do(t, nil, "GET", "/api/v2/ml/ok", nil, "")
		if r.code != 200 || r.hdr.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("request %d under SAFE_MODE: %d %v", i, r.code, r.hdr)
		}
	}
}

// sharedFake stands in for a group's shared limiter; it fails on demand.
type sharedFake struct{ fail atomic.Bool }

func (f *sharedFake) Allow(context.Context, string) (groupapi.Decision, error) {
	if f.fail.Load() {
		return groupapi.Decision{}, errors.New("redis: connection refused")
	}
	return groupapi.Decision{Allowed: true, Limit: 77, Remaining: 76}, nil
}

func TestServicesLimiterAndOverrides(t *testing.T) {
	e := newSecServer(t, map[string]string{"RATE_LIMIT_RPS": "100", "RATE_LIMIT_BURST": "100"})
	ov, ok := e.services.RateLimitOverrides.Get()
	if !ok {
		t.Fatal("core did not provide RateLimitOverrides")
	}
	ov.SetOverrides(map[string]groupapi.RateOverride{"GET /api/v2/ml/ok": {RPS: 0.001, Burst: 1}, "bogus": {RPS: 1, Burst: 1}})
	if r := e.do(t, nil, "GET", "/api/v2/ml/ok", nil, ""); r.code != 200 || r.hdr.Get("X-RateLimit-Limit") != "1" {
		t.Fatalf("override 1st: %d %v", r.code, r.hdr)
	}
	if r := e.do(t, nil, "GET", "/api/v2/ml/ok", nil, ""); r.code != 429 {
		t.Fatalf("override 2nd: %d", r.code)
	}
	if r := e.do(t, nil, "GET", "/api/v2/ml/other", nil, ""); r.code != 200 || r.hdr.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("route without override: %d %v", r.code, r.hdr)
	}
	// (the phase log's line is the composition root's: internal/service's TestWiringReports)
	ov.SetOverrides(nil)

	shared := &sharedFake{}
	e.services.Limiter.Provide(shared)
	if h := e.do(t, nil, "GET", "/health", nil, ""); h.body["rate_limit"] != "shared (local fallback)" {
		t.Fatalf("health rate_limit %v", h.body["rate_limit"])
	}
	if r := e.do(t, nil, "GET", "/api/v2/ml/other", nil, ""); r.hdr.Get("X-RateLimit-Limit") != "77" {
		t.Fatalf("shared limiter not used: %v", r.hdr)
	}
	shared.fail.Store(true)
	if r := e.do(t, nil, "GET", "/api/v2/ml/other", nil, ""); r.code != 200 || r.hdr.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("fallback to local: %d %v", r.code, r.hdr)
	}
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(w.Body.String(), "advanced_backend_ratelimit_fallback_total 1") {
		t.Fatalf("fallback not counted:\n%s", grepLines(w.Body.String(), "ratelimit"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestBadSecurityConfigFailsStartup(t *testing.T) {
	cfg, err := config.Load(nil, func(k string) (string, bool) {
		v, ok := map[string]string{"JWT_PUBLIC_KEY_FILE": "/nonexistent/pub.pem"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := lifecycle.New(nil, capability.FactsFrom(&debug.BuildInfo{}), false)
	_, err = wire(Deps{Config: cfg, Logger: slog.New(slog.DiscardHandler), Phase: phase.New(nil), Groups: rt,
		Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err == nil || !strings.Contains(err.Error(), "JWT_PUBLIC_KEY_FILE") {
		t.Fatalf("want a start-up error naming JWT_PUBLIC_KEY_FILE, got %v", err)
	}
}
