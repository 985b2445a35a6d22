package capability

import (
	"fmt"
	"sync"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// Slot holds one implementation of a core-defined interface that one party
// provides and others consume. It is set once: a second Provide is a
// programming error and panics during start-up, where Setup runs, so two
// providers cannot silently replace each other.
type Slot[T any] struct {
	mu  sync.RWMutex
	v   T
	set bool
}

// Provide installs the implementation; it panics when one is installed already.
func (s *Slot[T]) Provide(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set {
		panic(fmt.Sprintf("capability: %T provided twice", s))
	}
	s.v, s.set = v, true
}

// Get returns the implementation and whether one was provided.
func (s *Slot[T]) Get() (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v, s.set
}

// Provider is the providing side of a slot.
type Provider[T any] interface{ Provide(T) }

// Source is the consuming side of a slot.
type Source[T any] interface{ Get() (T, bool) }

// Services are the meeting points of one service (one process, or one test):
// core creates them with the service and each group sees only the sides it
// uses, through its Host.
type Services struct {
	// Latency is the latency engine's read view (provided by core, read by ml and optional).
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
	// ClusterMember is this replica's side of cluster mode: its identity,
	// its exported latency window and its local reset (provided by core,
	// used by vector's publisher).
	ClusterMember Slot[ClusterMember]
	// Cluster is the replicas' shared latency store (provided by vector when
	// REDIS_URL is set; core answers scope=cluster through it).
	Cluster Slot[ClusterLatency]
}

// The interfaces live in internal/groupapi; these names keep the groups'
// code reading capability.X.
type (
	ClusterMember      = groupapi.ClusterMember
	ReplicaPayload     = groupapi.ReplicaPayload
	ClusterLatency     = groupapi.ClusterLatency
	ClusterDescription = groupapi.ClusterDescription
	Embedder           = groupapi.Embedder
	ResponseCache      = groupapi.ResponseCache
	RouteLatency       = groupapi.RouteLatency
	LatencySource      = groupapi.LatencySource
	RateOverride       = groupapi.RateOverride
	RateLimitOverrides = groupapi.RateLimitOverrides
	GroupSwitches      = groupapi.GroupSwitches
)
