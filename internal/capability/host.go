package capability

import (
	"log/slog"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// Host is what core hands a group in Setup: configuration, logging, the
// phase log, a metrics registerer, where to mount routes, and the shared
// services through which groups cooperate without importing each other.
type Host struct {
	Config  *config.Config
	Logger  *slog.Logger
	Phase   *phase.Log
	Metrics prometheus.Registerer
	// Router is the root of the group's routes. Requests through it pass
	// the group gate (503 when the group is switched off at run time) and,
	// when auth is on, require a valid user token.
	Router *gin.RouterGroup
	// RequireAdmin guards admin-only group routes.
	RequireAdmin gin.HandlerFunc
	// BodyLimits lets a route take a body larger (or smaller) than
	// MAX_BODY_BYTES: Set(method, full route path, limit).
	BodyLimits *apierr.RouteLimits
	// Services carries the interfaces core defines for cross-group work.
	Services *Services
}
