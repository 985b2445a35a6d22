package capability

import (
	"log/slog"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// Host is what core hands a group in Setup: its own settings, logging, the
// phase log, a metrics registerer, where to mount routes, and the sides of
// the shared services it declared, through which groups cooperate without
// importing each other. A
// group gets no handle on the runtime that starts and stops groups.
type Host struct {
	// Settings are the group's own settings, parsed by internal/config
	// from what the group registered.
	Settings config.Values
	// Core are the core settings a group may follow (shared rate limits,
	// cluster mode); nil in tests that need none.
	Core    *CoreSettings
	Logger  *slog.Logger
	Phase   groupapi.Phase
	Metrics groupapi.Metrics
	// Routes is where the group mounts its routes (groupapi.Router).
	Routes groupapi.Router
	// Services is the group's view of the set-once meeting points for
	// cross-group work: only what it declared in GroupInfo.Uses (SourceOf,
	// ProviderOf).
	Services *GroupServices
	// Enabled reports whether this group is enabled right now (it may be
	// switched off at run time); nil means always.
	Enabled func() bool
}

// CoreSettings are the parts of core's configuration a group may follow.
type CoreSettings struct {
	MaxBodyBytes int64
	RateLimit    config.RateLimitConfig
	Cluster      config.ClusterConfig
}

// CoreOf picks the group-visible core settings out of a Config.
func CoreOf(c *config.Config) *CoreSettings {
	return &CoreSettings{MaxBodyBytes: c.MaxBodyBytes, RateLimit: c.RateLimit, Cluster: c.Cluster}
}
