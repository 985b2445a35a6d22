// Package groupapi declares the contracts through which core and the
// groups cooperate without importing each other: what a group is (Feature)
// and what core hands it (Host: Router for its net/http handlers, Metrics,
// Phase, Core settings), a group's Status and ErrFatal, the rate Limiter,
// and the set-once services one provides and others use (llm's embedder
// used by vector, core's latency engine read by ml, the switches
// optional's registry file uses, ...). The registry (internal/capability)
// names the services and hands each group the ones it declares. It imports
// nothing but the standard library (a test checks it), so a provider such
// as internal/latency implements them without linking the registry or the
// router, and no other package re-exports them.
package groupapi

import (
	"context"
	"errors"
	"time"
)

// ClusterMember is what a replica contributes to the cluster.
type ClusterMember interface {
	ReplicaID() string
	// ExportLatency returns the replica's latency window as an opaque
	// payload of at most maxBytes.
	ExportLatency(maxBytes int) ([]byte, error)
	// ResetLatency clears the replica's latency state (a cluster-wide reset
	// arriving through the shared store).
	ResetLatency()
}

// ReplicaPayload is one live replica's last published payload.
type ReplicaPayload struct {
	ID   string
	Age  time.Duration // since it was published
	Data []byte
}

// ClusterLatency is the shared store of the replicas' latency payloads.
// Calls fail fast (an error naming the cause) while the store is down.
type ClusterLatency interface {
	// Replicas returns the payloads of the live replicas (those whose last
	// publication has not expired), bounded in number.
	Replicas(ctx context.Context) ([]ReplicaPayload, error)
	// ResetAll tells every replica to clear its latency state and returns
	// the live replicas told; each applies it within one publish interval.
	ResetAll(ctx context.Context) ([]string, error)
	// Describe names the store and its timing for reports.
	Describe() ClusterDescription
}

// ClusterDescription is the shared store's configuration.
type ClusterDescription struct {
	_               [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	Store           string    `json:"store"`
	PublishInterval float64   `json:"publish_interval_seconds"`
	TTL             float64   `json:"ttl_seconds"`
	MaxBytes        int       `json:"max_publish_bytes"`
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

// GroupSwitches lets a group switch linked groups off and on at run time
// (optional's registry file). It cannot start or stop them.
type GroupSwitches interface {
	// Linked reports whether the group is linked into this binary.
	Linked(group string) bool
	// Variant names the variant of this binary.
	Variant() string
	// SetDisabled switches a linked group off (or back on).
	SetDisabled(group string, off bool, reason string) error
}

// Status is a group's own view of its readiness. Ready means the group
// serves everything it offers. Degraded (with Ready false) means it serves
// without a dependency that it falls back from gracefully (Redis down:
// local limits; no LLM provider key; Qdrant unreachable: its routes answer
// 503 until it returns), so /ready stays 200 unless the operator marked the
// group required (READY_REQUIRE). Neither means it cannot serve (its start
// failed, its data is damaged).
type Status struct {
	_        [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	Ready    bool      `json:"ready"`
	Degraded bool      `json:"degraded,omitempty"`
	Detail   string    `json:"detail"`
	// Info is the group's own facts for /ml-capabilities (a JSON value),
	// such as what its store holds; nil when it has none.
	Info any `json:"info,omitempty"`
}

// ErrFatal marks a group start error that the service cannot serve past
// (a data directory that cannot be read, or that another process holds):
// wrapped into Start's error, it stops the service, which exits with
// status 2, instead of leaving the group reported not ready.
var ErrFatal = errors.New("fatal start-up error")

// Decision is the outcome of one Allow call; the middleware turns it into
// X-RateLimit-* and Retry-After headers.
type Decision struct {
	Allowed    bool
	Limit      int           // burst size
	Remaining  int           // requests left right now
	RetryAfter time.Duration // when not allowed: wait at least this long
	ResetAfter time.Duration // until the bucket is full again
}

// Limiter decides for one key (a subject or a client IP).
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}
