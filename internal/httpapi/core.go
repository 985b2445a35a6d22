package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/web"
)

// Bounds of /startup/heartbeat?n=.
const (
	heartbeatDefault = 50
	heartbeatMax     = phase.Capacity
)

func (s *Server) mountCore() {
	e := s.engine
	e.GET("/health", s.health)
	e.GET("/__phase", s.phaseInfo)
	e.GET("/ml-capabilities", s.capabilities)
	e.GET("/startup/heartbeat", s.heartbeat)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{ErrorLog: nil})))
	e.GET("/executive_dashboard.html", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/html; charset=utf-8", web.Dashboard)
	})
	e.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/executive_dashboard.html") })
}

func (s *Server) health(c *gin.Context) {
	cfg := s.deps.Config
	authMode, rateMode := s.securityInfo()
	apierr.JSON(c, http.StatusOK, gin.H{
		"status":           "ok",
		"phase":            s.deps.Phase.Phase(),
		"minimal":          cfg.MinimalMode,
		"safe_mode":        cfg.SafeMode,
		"auth":             authMode,
		"rate_limit":       rateMode,
		"fallback_tdigest": s.estimator.Fallback,
		"variant":          s.deps.Groups.Variant(),
		"replica_id":       cfg.Cluster.ReplicaID,
		"uptime_seconds":   s.deps.Phase.Uptime().Seconds(),
	})
}

func (s *Server) phaseInfo(c *gin.Context) {
	cfg := s.deps.Config
	rt := s.deps.Groups
	authMode, rateMode := s.securityInfo()
	apierr.JSON(c, http.StatusOK, gin.H{
		"phase":              s.deps.Phase.Phase(),
		"auth":               authMode,
		"admin_guard":        s.adminGuard(),
		"rate_limit":         rateMode,
		"minimal_mode":       cfg.MinimalMode,
		"safe_mode":          cfg.SafeMode,
		"structured_log":     cfg.StructuredLog,
		"include_tensorflow": cfg.IncludeTensorflow,
		"variant":            rt.Variant(),
		"build_tags":         nonNil(rt.Facts().Tags),
		"linked_groups":      nonNil(rt.LinkedNames()),
		"estimator":          s.estimator,
		"tracked_endpoints":  s.lat.ActiveRoutes(),
		"trackable_routes":   s.lat.TrackedRoutes(),
		"replica_id":         cfg.Cluster.ReplicaID,
		"cluster":            s.clusterMode(),
		"uptime_seconds":     s.deps.Phase.Uptime().Seconds(),
	})
}

// Report builds the capability report of this server.
func (s *Server) Report() capability.Report {
	cfg := s.deps.Config
	return s.deps.Groups.Report(capability.ReportInput{
		SafeMode:          cfg.SafeMode,
		IncludeTensorflow: cfg.IncludeTensorflow,
		Fallback:          s.estimator.Fallback,
		TrackedEndpoints:  s.lat.ActiveRoutes(),
		Estimator:         s.estimator,
	})
}

func (s *Server) capabilities(c *gin.Context) { apierr.JSON(c, http.StatusOK, s.Report()) }

func (s *Server) heartbeat(c *gin.Context) {
	n := heartbeatDefault
	if q, ok := c.GetQuery("n"); ok {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 || v > heartbeatMax {
			apierr.Abort(c, http.StatusBadRequest, "bad_request",
				"n must be an integer between 1 and "+strconv.Itoa(heartbeatMax))
			return
		}
		n = v
	}
	cfg := s.deps.Config
	authMode, rateMode := s.securityInfo()
	apierr.JSON(c, http.StatusOK, gin.H{
		"phase":          s.deps.Phase.Phase(),
		"uptime_seconds": s.deps.Phase.Uptime().Seconds(),
		"events_total":   s.deps.Phase.Total(),
		"events":         s.deps.Phase.Last(n),
		"modes": gin.H{
			"minimal_mode": cfg.MinimalMode,
			"safe_mode":    cfg.SafeMode,
			"auth":         authMode,
			"rate_limit":   rateMode,
		},
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
