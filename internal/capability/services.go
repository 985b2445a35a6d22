package capability

import (
	"context"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// Slot holds one implementation of a core-defined interface that a group
// provides and others consume. Groups never import each other; they meet
// here (for example llm provides an Embedder that vector uses).
type Slot[T any] struct {
	mu  sync.RWMutex
	v   T
	set bool
}

// Provide installs the implementation.
func (s *Slot[T]) Provide(v T) {
	s.mu.Lock()
	s.v, s.set = v, true
	s.mu.Unlock()
}

// Get returns the implementation and whether one was provided.
func (s *Slot[T]) Get() (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v, s.set
}

// Services are the cross-group meeting points. Core creates one value per
// process and hands it to every group through Host.
type Services struct {
	// Latency is the latency engine's read view (provided by core, read by ml).
	Latency Slot[LatencySource]
	// Embedder turns text into vectors (provided by llm, used by vector).
	Embedder Slot[Embedder]
	// Limiter replaces core's local token buckets (provided by vector when
	// REDIS_URL is set, so replicas share budgets).
	Limiter Slot[ratelimit.Limiter]
	// Cache is a shared response cache (provided by vector when REDIS_URL is
	// set, used by llm for deterministic answers and embeddings).
	Cache Slot[ResponseCache]
	// RateLimitOverrides applies per-route limits from a registry file
	// (provided by core rate limiting, used by optional).
	RateLimitOverrides Slot[RateLimitOverrides]
	// Groups switches linked groups off and on at run time (set by core;
	// used by optional's registry file).
	Groups *Runtime
}

// Embedder is the remote-embeddings meeting point of llm and vector.
type Embedder interface {
	// Embed returns one vector per input; model "" means the default.
	Embed(ctx context.Context, inputs []string, model string) ([][]float32, error)
	// Ready reports whether an embedding provider is configured.
	Ready() bool
}

// ResponseCache stores opaque values by key with a lifetime. An unavailable
// cache answers errors quickly; callers then go without it.
type ResponseCache interface {
	// Get returns the value and true on a hit, false on a miss.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// RouteLatency is one route's view for analytics.
type RouteLatency struct {
	Route string // "METHOD /template"
	Count uint64 // requests in the current window
	P50   float64
	P95   float64
	P99   float64
	// Samples is a bounded sample (ms) of the current window, for
	// distribution tests such as Kolmogorov-Smirnov.
	Samples []float64
	// P95History holds the window p95 at each past rotation, oldest first
	// (bounded).
	P95History []float64
}

// LatencySource is the read-only view of the latency engine, plus the SLO
// targets a registry file may set.
type LatencySource interface {
	Snapshot() []RouteLatency
	// SetSLOTargets sets per-route p95 targets in ms (nil clears).
	SetSLOTargets(targets map[string]float64)
}

// RateOverride is a per-route limit.
type RateOverride struct {
	RPS   float64 `json:"rps" yaml:"rps"`
	Burst int     `json:"burst" yaml:"burst"`
}

// RateLimitOverrides is set by a registry file: keys are route templates
// ("GET /api/v2/llm/chat"); nil clears.
type RateLimitOverrides interface {
	SetOverrides(overrides map[string]RateOverride)
}
