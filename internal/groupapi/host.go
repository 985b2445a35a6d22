package groupapi

import (
	"context"
	"log/slog"
	"time"
)

// Feature is one instance of a group in one service, built by the
// constructor the group registers (with its settings already bound). The
// lifecycle is split so that start-up stays fast: Setup runs before the
// listener serves and must do no network I/O; Start runs after /health
// already answers.
type Feature interface {
	// Setup mounts the group's routes and takes the services it declared
	// from h.
	Setup(h *Host) error
	// Start constructs clients and starts background probes. Goroutines it
	// starts must end when Stop is called.
	Start(ctx context.Context) error
	// Stop releases what Start acquired.
	Stop(ctx context.Context) error
	// Status reports readiness as the group itself sees it.
	Status() Status
}

// Host is what core hands a group in Setup: logging, the phase log, a
// metrics registry, where to mount routes, the core settings a group may
// follow, and the sides of the shared services it declared, through which
// groups cooperate without importing each other. A group gets no handle on
// the runtime that starts and stops groups. Its own settings are not here:
// they are bound when the group is constructed.
type Host struct {
	Logger  *slog.Logger
	Phase   Phase
	Metrics Metrics
	// Routes is where the group mounts its routes.
	Routes Router
	// Core are the core settings a group may follow (body limit, shared
	// rate limits, cluster mode).
	Core Core
	// Services is the group's view of the set-once meeting points for
	// cross-group work: only what it declared (SourceOf, ProviderOf).
	Services *GroupServices
	// Enabled reports whether this group is enabled right now (it may be
	// switched off at run time); nil means always.
	Enabled func() bool
}

// Core are the parts of core's configuration a group may follow, copied
// by core from its own settings.
type Core struct {
	_ [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	// MaxBodyBytes is the default body limit of a route (MAX_BODY_BYTES).
	MaxBodyBytes int64
	// RateLimitRPS and RateLimitBurst are the per-client rate limit
	// (RATE_LIMIT_RPS, RATE_LIMIT_BURST); RPS 0 means rate limiting is off.
	RateLimitRPS   float64
	RateLimitBurst int
	// Cluster is cluster mode's timing (CLUSTER_*).
	Cluster ClusterSettings
}

// ClusterSettings are the settings of a replica's latency publications.
type ClusterSettings struct {
	PublishInterval time.Duration
	TTL             time.Duration
	MaxPublishBytes int
}
