package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// RateAware is implemented by a provided groupapi.Limiter that can apply a rate
// other than its default to a key (used for per-route overrides). A
// provided groupapi.Limiter without it leaves overridden routes to local buckets.
type RateAware interface {
	AllowRate(ctx context.Context, key string, rps float64, burst int) (groupapi.Decision, error)
}

// Override is a per-route limit. RPS 0 exempts the route.
type Override struct {
	RPS   float64
	Burst int
}

// MaxOverrides bounds the number of per-route overrides (each has its own
// client table of MaxClients keys).
const MaxOverrides = 256

var routeKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]{3,7} /[^\s]*$`) }) // compiled on first use, not in init

// Options configures the middleware.
type Options struct {
	RPS        float64
	Burst      int
	MaxClients int
	// Provided returns the limiter a group provided (shared by replicas),
	// looked up at request time; nil or !ok means local buckets.
	Provided func() (groupapi.Limiter, bool)
	// Key names the client of a request (subject or IP); nil means the
	// client IP as gin sees it.
	Key func(*gin.Context) string
	// Exempt lists exact paths that are never limited.
	Exempt []string
	Logger *slog.Logger
	Now    func() time.Time
}

// Middleware limits requests per client.
type Middleware struct {
	o         Options
	base      *Local
	exempt    map[string]bool
	overrides atomic.Pointer[map[string]*routeLimit]
	failing   atomic.Bool

	requests *prometheus.CounterVec
	fallback prometheus.Counter
}

type routeLimit struct {
	ov    Override
	local *Local
}

// New builds the middleware and its local buckets.
func New(o Options) *Middleware {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Key == nil {
		o.Key = func(c *gin.Context) string { return "ip:" + c.ClientIP() } // the resolved client, as auth.ClientAddr
	}
	m := &Middleware{
		o:      o,
		base:   NewLocal(o.RPS, o.Burst, o.MaxClients, o.Now),
		exempt: map[string]bool{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_ratelimit_requests_total",
			Help: "Rate-limited requests by result (allowed, limited).",
		}, []string{"result"}),
		fallback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advanced_backend_ratelimit_fallback_total",
			Help: "Requests decided by local buckets because the provided (shared) limiter failed.",
		}),
	}
	for _, p := range o.Exempt {
		m.exempt[p] = true
	}
	empty := map[string]*routeLimit{}
	m.overrides.Store(&empty)
	return m
}

// Register adds the limiter's metrics to reg.
func (m *Middleware) Register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{m.requests, m.fallback,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "advanced_backend_ratelimit_clients",
			Help: "Clients in the local limiter's table (bounded by RATE_LIMIT_MAX_CLIENTS).",
		}, func() float64 { return float64(m.base.Len()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "advanced_backend_ratelimit_evictions_total",
			Help: "Clients evicted from the local limiter's table to keep it bounded.",
		}, func() float64 { return float64(m.base.Evictions()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register rate-limit metrics: %w", err)
		}
	}
	return nil
}

// Base returns the default local buckets.
func (m *Middleware) Base() *Local { return m.base }

// SetOverrides replaces the per-route limits; keys are "METHOD /template"
// as gin routes them ("GET /api/v2/llm/chat"). Invalid entries are left
// out and reported in the error; the valid ones apply. nil clears.
// Buckets of routes whose limit did not change are kept.
func (m *Middleware) SetOverrides(in map[string]Override) error {
	old := *m.overrides.Load()
	next := make(map[string]*routeLimit, len(in))
	var errs []error
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ov := in[k]
		switch {
		case !routeKeyRE().MatchString(k):
			errs = append(errs, fmt.Errorf("override %q: want \"METHOD /route/template\"", k))
			continue
		case math.IsNaN(ov.RPS) || math.IsInf(ov.RPS, 0) || ov.RPS < 0 || ov.RPS > 1e6:
			errs = append(errs, fmt.Errorf("override %q: rps must be between 0 and 1e6", k))
			continue
		case ov.RPS > 0 && (ov.Burst < 1 || ov.Burst > 1_000_000):
			errs = append(errs, fmt.Errorf("override %q: burst must be between 1 and 1000000", k))
			continue
		case len(next) >= MaxOverrides:
			errs = append(errs, fmt.Errorf("override %q: more than %d overrides", k, MaxOverrides))
			continue
		}
		if prev, ok := old[k]; ok && prev.ov == ov {
			next[k] = prev
			continue
		}
		rl := &routeLimit{ov: ov}
		if ov.RPS > 0 {
			rl.local = NewLocal(ov.RPS, ov.Burst, m.o.MaxClients, m.o.Now)
		}
		next[k] = rl
	}
	m.overrides.Store(&next)
	return errors.Join(errs...)
}

// Overrides returns the per-route limits in force.
func (m *Middleware) Overrides() map[string]Override {
	cur := *m.overrides.Load()
	out := make(map[string]Override, len(cur))
	for k, v := range cur {
		out[k] = v.ov
	}
	return out
}

// Handler is the gin middleware. It must run after the auth middleware
// that identifies the subject (Options.Key reads it).
func (m *Middleware) Handler() gin.HandlerFunc {
	return func(c *gin.Context) {
		if m.exempt[c.Request.URL.Path] {
			c.Next()
			return
		}
		d, ok := m.decide(c)
		if !ok { // route exempt by override
			c.Next()
			return
		}
		// canonical keys assigned directly: Header.Set would allocate a
		// canonical copy of each mixed-case name on every request
		h := c.Writer.Header()
		h["X-Ratelimit-Limit"] = []string{strconv.Itoa(d.Limit)}
		h["X-Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
		h["X-Ratelimit-Reset"] = []string{strconv.Itoa(ceilSeconds(d.ResetAfter))}
		if !d.Allowed {
			m.requests.WithLabelValues("limited").Inc()
			h.Set("Retry-After", strconv.Itoa(max(ceilSeconds(d.RetryAfter), 1)))
			apierr.Abort(c, http.StatusTooManyRequests, "rate_limited",
				fmt.Sprintf("too many requests: limit %d burst, retry after %s", d.Limit, d.RetryAfter.Round(time.Millisecond)))
			return
		}
		m.requests.WithLabelValues("allowed").Inc()
		c.Next()
	}
}

// decide picks the limiter for the request and asks it; ok is false when
// the route is exempt by an override.
func (m *Middleware) decide(c *gin.Context) (groupapi.Decision, bool) {
	ctx := c.Request.Context()
	key := m.o.Key(c)
	var provided groupapi.Limiter
	if m.o.Provided != nil {
		if p, ok := m.o.Provided(); ok && p != nil {
			provided = p
		}
	}
	if route := c.FullPath(); route != "" {
		rk := c.Request.Method + " " + route
		if rl, ok := (*m.overrides.Load())[rk]; ok {
			if rl.local == nil {
				return groupapi.Decision{}, false
			}
			if ra, ok := provided.(RateAware); ok {
				d, err := ra.AllowRate(ctx, rk+" "+key, rl.ov.RPS, rl.ov.Burst)
				if err == nil {
					m.recovered()
					return d, true
				}
				m.failed(err)
			}
			d, _ := rl.local.Allow(ctx, key)
			return d, true
		}
	}
	if provided != nil {
		d, err := provided.Allow(ctx, key)
		if err == nil {
			m.recovered()
			return d, true
		}
		m.failed(err)
	}
	d, _ := m.base.Allow(ctx, key)
	return d, true
}

func (m *Middleware) failed(err error) {
	m.fallback.Inc()
	if !m.failing.Swap(true) {
		m.o.Logger.Warn("shared rate limiter failed; deciding with local buckets until it recovers", "err", err)
	}
}

func (m *Middleware) recovered() {
	if m.failing.Swap(false) {
		m.o.Logger.Info("shared rate limiter recovered")
	}
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
