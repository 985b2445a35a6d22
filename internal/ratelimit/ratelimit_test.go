package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a manual time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestLocalBurstRefillAndIsolation(t *testing.T) {
	clk := newClock()
	l := NewLocal(2, 3, 100, clk.Now) // 2/s, burst 3
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		d, _ := l.Allow(ctx, "a")
		if !d.Allowed || d.Limit != 3 || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d, _ := l.Allow(ctx, "a")
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 500*time.Millisecond || d.ResetAfter != 1500*time.Millisecond {
		t.Fatalf("4th: %+v", d)
	}
	// Another client is not affected.
	if d, _ := l.Allow(ctx, "b"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("client b: %+v", d)
	}
	// Half a second later one token is back.
	clk.Advance(500 * time.Millisecond)
	if d, _ := l.Allow(ctx, "a"); !d.Allowed {
		t.Fatalf("after refill: %+v", d)
	}
	if d, _ := l.Allow(ctx, "a"); d.Allowed {
		t.Fatalf("refill gave more than one token: %+v", d)
	}
}

// TestLocalTableBound sends 100,000 distinct clients through a table of
// 1,000 and checks the bound, the eviction count and that recent clients
// keep their (drained) buckets while evicted ones start afresh.
func TestLocalTableBound(t *testing.T) {
	clk := newClock()
	const max, n = 1000, 100_000
	l := NewLocal(1, 1, max, clk.Now)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := l.Allow(ctx, fmt.Sprintf("ip:10.%d.%d.%d", i>>16, (i>>8)&255, i&255)); err != nil {
			t.Fatal(err)
		}
		if l.Len() > max {
			t.Fatalf("table grew to %d after %d clients", l.Len(), i+1)
		}
	}
	if l.Len() != max || l.Evictions() != n-max {
		t.Fatalf("len %d evictions %d", l.Len(), l.Evictions())
	}
	last := fmt.Sprintf("ip:10.%d.%d.%d", (n-1)>>16, ((n-1)>>8)&255, (n-1)&255)
	if d, _ := l.Allow(ctx, last); d.Allowed {
		t.Fatal("most recent client lost its bucket")
	}
	if d, _ := l.Allow(ctx, "ip:10.0.0.0"); !d.Allowed {
		t.Fatal("evicted client should start with a full bucket")
	}
}

// fakeShared is an in-process groupapi.Limiter standing in for a shared (Redis)
// limiter: it counts calls and can be made to fail.
type fakeShared struct {
	mu      sync.Mutex
	calls   int
	rate    []string
	fail    bool
	allowed bool
}

func (f *fakeShared) Allow(_ context.Context, key string) (groupapi.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return groupapi.Decision{}, errors.New("connection refused")
	}
	return groupapi.Decision{Allowed: f.allowed, Limit: 42, Remaining: 41, RetryAfter: 2 * time.Second}, nil
}

type rateAwareShared struct{ fakeShared }

func (f *rateAwareShared) AllowRate(ctx context.Context, key string, rps float64, burst int) (groupapi.Decision, error) {
	f.mu.Lock()
	f.rate = append(f.rate, fmt.Sprintf("%s %g %d", key, rps, burst))
	f.mu.Unlock()
	return f.Allow(ctx, key)
}

func newEngine(m *Middleware) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(m.Handler())
	ok := func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) }
	e.GET("/health", ok)
	e.GET("/api/items/:id", ok)
	e.POST("/api/items", ok)
	e.GET("/api/free", ok)
	return e
}

func hit(e http.Handler, method, path, ip string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = ip + ":40000"
	e.ServeHTTP(w, r)
	return w
}

func ipKey(c *gin.Context) string { return "ip:" + c.ClientIP() }

func TestMiddlewareBurstThen429(t *testing.T) {
	clk := newClock()
	m := New(Options{RPS: 1, Burst: 5, MaxClients: 100, Key: ipKey, Exempt: []string{"/health"}, Now: clk.Now})
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	e := newEngine(m)
	for i := 0; i < 5; i++ {
		w := hit(e, "GET", "/api/items/1", "192.0.2.1")
		if w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "5" || w.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(4-i) {
			t.Fatalf("request %d: %d %v", i, w.Code, w.Header())
		}
	}
	w := hit(e, "GET", "/api/items/2", "192.0.2.1")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("6th: %d", w.Code)
	}
	if w.Header().Get("Retry-After") != "1" || w.Header().Get("X-RateLimit-Remaining") != "0" || w.Header().Get("X-RateLimit-Reset") != "5" {
		t.Fatalf("429 headers %v", w.Header())
	}
	var body struct{ Error struct{ Code string } }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "rate_limited" {
		t.Fatalf("429 body %s", w.Body)
	}
	// Another client, and exempt paths, still pass.
	if w := hit(e, "GET", "/api/items/1", "192.0.2.2"); w.Code != 200 {
		t.Fatalf("other client: %d", w.Code)
	}
	for i := 0; i < 50; i++ {
		if w := hit(e, "GET", "/health", "192.0.2.1"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "" {
			t.Fatalf("exempt /health: %d %v", w.Code, w.Header())
		}
	}
	// Unknown routes count too (a scanner cannot probe for free).
	if w := hit(e, "GET", "/nope", "192.0.2.1"); w.Code != 429 {
		t.Fatalf("unknown route from a limited client: %d", w.Code)
	}
	clk.Advance(time.Second)
	if w := hit(e, "GET", "/api/items/1", "192.0.2.1"); w.Code != 200 {
		t.Fatalf("after a second: %d", w.Code)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("limited")); got != 2 {
		t.Fatalf("limited counter %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("allowed")); got != 7 {
		t.Fatalf("allowed counter %v", got)
	}
}

// TestMiddlewareTableBound sends 20,000 distinct client IPs through the
// real gin stack (in process) and checks the table bound and the clients
// and evictions metrics; TestLocalTableBound covers 100,000 clients on the
// table itself.
func TestMiddlewareTableBound(t *testing.T) {
	const max, n = 500, 20_000
	m := New(Options{RPS: 1, Burst: 2, MaxClients: max, Key: ipKey})
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	e := newEngine(m)
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
		if w := hit(e, "GET", "/api/free", ip); w.Code != 200 {
			t.Fatalf("client %d: %d", i, w.Code)
		}
	}
	if m.Base().Len() != max {
		t.Fatalf("table %d, bound %d", m.Base().Len(), max)
	}
	out, err := testutil.GatherAndCount(reg, "advanced_backend_ratelimit_clients")
	if err != nil || out != 1 {
		t.Fatalf("gauge: %v %d", err, out)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "advanced_backend_ratelimit_clients":
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != max {
				t.Errorf("clients gauge %v", v)
			}
		case "advanced_backend_ratelimit_evictions_total":
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != n-max {
				t.Errorf("evictions %v", v)
			}
		}
	}
}

func TestProvidedLimiterAndFallback(t *testing.T) {
	shared := &fakeShared{allowed: true}
	var provide bool
	m := New(Options{RPS: 1, Burst: 2, MaxClients: 100, Key: ipKey,
		Provided: func() (groupapi.Limiter, bool) { return shared, provide }})
	e := newEngine(m)
	// Not provided: local buckets (limit 2).
	if w := hit(e, "GET", "/api/free", "192.0.2.9"); w.Header().Get("X-RateLimit-Limit") != "2" || shared.calls != 0 {
		t.Fatalf("local: %v calls %d", w.Header(), shared.calls)
	}
	// Provided: its decisions are used.
	provide = true
	if w := hit(e, "GET", "/api/free", "192.0.2.9"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "42" || shared.calls != 1 {
		t.Fatalf("shared: %d %v calls %d", w.Code, w.Header(), shared.calls)
	}
	shared.allowed = false
	if w := hit(e, "GET", "/api/free", "192.0.2.9"); w.Code != 429 || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("shared deny: %d %v", w.Code, w.Header())
	}
	// Failing: local buckets decide, and the fallback is counted.
	shared.fail = true
	w := hit(e, "GET", "/api/free", "192.0.2.10")
	if w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "2" {
		t.Fatalf("fallback: %d %v", w.Code, w.Header())
	}
	hit(e, "GET", "/api/free", "192.0.2.10")
	if w := hit(e, "GET", "/api/free", "192.0.2.10"); w.Code != 429 {
		t.Fatalf("local fallback does not limit: %d", w.Code)
	}
	if got := testutil.ToFloat64(m.fallback); got != 3 {
		t.Fatalf("fallback counter %v, want 3", got)
	}
}

func TestOverrides(t *testing.T) {
	m := New(Options{RPS: 100, Burst: 100, MaxClients: 100, Key: ipKey})
	e := newEngine(m)
	err := m.SetOverrides(map[string]Override{
		"POST /api/items":    {RPS: 1, Burst: 1},
		"GET /api/items/:id": {RPS: 0}, // exempt
		"get /lower":         {RPS: 1, Burst: 1},
		"GET /neg":           {RPS: -1, Burst: 1},
		"GET /noburst":       {RPS: 1, Burst: 0},
	})
	if err == nil || !strings.Contains(err.Error(), "get /lower") || !strings.Contains(err.Error(), "GET /neg") || !strings.Contains(err.Error(), "GET /noburst") {
		t.Fatalf("invalid overrides not reported: %v", err)
	}
	if got := m.Overrides(); len(got) != 2 {
		t.Fatalf("overrides in force %v", got)
	}
	if w := hit(e, "POST", "/api/items", "192.0.2.1"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "1" {
		t.Fatalf("override 1st: %d %v", w.Code, w.Header())
	}
	if w := hit(e, "POST", "/api/items", "192.0.2.1"); w.Code != 429 {
		t.Fatalf("override 2nd: %d", w.Code)
	}
	// Other routes keep the default; the exempt route has no headers.
	if w := hit(e, "GET", "/api/free", "192.0.2.1"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("default route: %d %v", w.Code, w.Header())
	}
	for i := 0; i < 150; i++ {
		if w := hit(e, "GET", "/api/items/7", "192.0.2.1"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "" {
			t.Fatalf("exempt route: %d %v", w.Code, w.Header())
		}
	}
	// Re-setting an unchanged override keeps its (drained) bucket.
	if err := m.SetOverrides(map[string]Override{"POST /api/items": {RPS: 1, Burst: 1}}); err != nil {
		t.Fatal(err)
	}
	if w := hit(e, "POST", "/api/items", "192.0.2.1"); w.Code != 429 {
		t.Fatalf("unchanged override reset its bucket: %d", w.Code)
	}
	// nil clears.
	if err := m.SetOverrides(nil); err != nil || len(m.Overrides()) != 0 {
		t.Fatal(err)
	}
	if w := hit(e, "POST", "/api/items", "192.0.2.1"); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("after clearing: %d %v", w.Code, w.Header())
	}
	// The bound on the number of overrides.
	many := map[string]Override{}
	for i := 0; i < MaxOverrides+10; i++ {
		many[fmt.Sprintf("GET /r%d", i)] = Override{RPS: 1, Burst: 1}
	}
	if err := m.SetOverrides(many); err == nil || len(m.Overrides()) != MaxOverrides {
		t.Fatalf("%d overrides in force, err %v", len(m.Overrides()), err)
	}
}

func TestOverrideWithRateAwareSharedLimiter(t *testing.T) {
	shared := &rateAwareShared{fakeShared{allowed: true}}
	m := New(Options{RPS: 100, Burst: 100, MaxClients: 100, Key: ipKey,
		Provided: func() (groupapi.Limiter, bool) { return shared, true }})
	e := newEngine(m)
	if err := m.SetOverrides(map[string]Override{"POST /api/items": {RPS: 3, Burst: 4}}); err != nil {
		t.Fatal(err)
	}
	hit(e, "POST", "/api/items", "192.0.2.5")
	if len(shared.rate) != 1 || shared.rate[0] != "POST /api/items ip:192.0.2.5 3 4" {
		t.Fatalf("AllowRate calls %v", shared.rate)
	}
}
