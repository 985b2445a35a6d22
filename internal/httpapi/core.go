package httpapi

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
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
	e.HEAD("/health", s.health)
	e.GET(readyPath, s.ready)
	e.HEAD(readyPath, s.ready)
	e.GET("/__phase", s.phaseInfo)
	e.GET("/ml-capabilities", s.capabilities)
	e.GET("/startup/heartbeat", s.heartbeat)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{ErrorLog: nil})))
	e.GET("/executive_dashboard.html", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/html; charset=utf-8", web.Dashboard())
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
		// pid tells a probe that the process answering is the one it started.
		"pid": os.Getpid(),
	})
}

// readyPath is the readiness probe; its 503 is an answer, not an error.
const readyPath = "/ready"

// groupNote is one enabled group that is not ready, with its own detail.
type groupNote struct {
	Group  string `json:"group"`
	Detail string `json:"detail"`
}

// ready is readiness, the signal a load balancer or orchestrator takes a
// replica out of service by. It is 503 only while the process starts
// (phase early), while it drains after SIGTERM (SHUTDOWN_DRAIN), or when a
// group named in READY_REQUIRE is not ready (a degraded one included).
// Any other group that is not ready is reported in the 200: under
// "degraded" when it serves with a graceful fallback (Redis down: local
// limits; no LLM key; Qdrant unreachable), under "not_ready" when it
// cannot serve (its start failed). A shared dependency that blinks must not
// take every replica of a fleet out of service at once. Groups that are not
// linked or are switched off do not count unless required: the service
// answers their routes with 501/503 on purpose.
func (s *Server) ready(c *gin.Context) {
	rt := s.deps.Groups
	enabled := []string{}
	degraded, notReady := []groupNote{}, []groupNote{}
	var blockers []string
	required := s.deps.Config.ReadyRequire
	for _, name := range rt.LinkedNames() {
		req := slices.Contains(required, name)
		if !rt.Enabled(name) {
			if req {
				blockers = append(blockers, "required group "+name+" is off ("+rt.DisabledReason(name)+")")
			}
			continue
		}
		enabled = append(enabled, name)
		st := rt.State(name)
		switch {
		case st.Ready:
			continue
		case st.Degraded:
			degraded = append(degraded, groupNote{Group: name, Detail: st.Detail})
		default:
			notReady = append(notReady, groupNote{Group: name, Detail: st.Detail})
		}
		if req {
			blockers = append(blockers, "required group "+name+" is not ready ("+st.Detail+")")
		}
	}
	ph := s.deps.Phase.Phase()
	if ph != phase.Runtime {
		blockers = append([]string{"starting: the groups have not all started"}, blockers...)
	}
	draining := s.draining.Load()
	if draining {
		blockers = append([]string{"draining: shutting down (SHUTDOWN_DRAIN)"}, blockers...)
	}
	body := gin.H{"phase": ph, "groups": enabled, "required": nonNil(required),
		"degraded": degraded, "not_ready": notReady, "draining": draining}
	if len(blockers) == 0 {
		body["status"] = "ready"
		apierr.JSON(c, http.StatusOK, body)
		return
	}
	body["status"] = "not_ready"
	body["error"] = apierr.Detail{Code: "not_ready", Message: strings.Join(blockers, "; ")}
	c.AbortWithStatusJSON(http.StatusServiceUnavailable, body)
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
		"ignored_settings":   ignoredSettings(cfg.Ignored),
		"strict_settings":    cfg.StrictSettings,
		"estimator":          s.estimator,
		"tracked_endpoints":  s.lat.ActiveRoutes(),
		"trackable_routes":   s.lat.TrackedRoutes(),
		"replica_id":         cfg.Cluster.ReplicaID,
		"cluster":            s.clusterMode(),
		"uptime_seconds":     s.deps.Phase.Uptime().Seconds(),
	})
}

// Report builds the capability report of this server.
func (s *Server) Report() capreport.Report {
	cfg := s.deps.Config
	return s.deps.Groups.Report(lifecycle.ReportInput{
		SafeMode:          cfg.SafeMode,
		IncludeTensorflow: cfg.IncludeTensorflow,
		Fallback:          s.estimator.Fallback,
		TrackedEndpoints:  s.lat.ActiveRouteKeys(),
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
	events := s.deps.Phase.Last(n)
	// count, minimal_mode and safe_mode are the seed's fields; modes keeps
	// them with auth and rate_limit for the dashboard.
	apierr.JSON(c, http.StatusOK, gin.H{
		"phase":          s.deps.Phase.Phase(),
		"uptime_seconds": s.deps.Phase.Uptime().Seconds(),
		"events_total":   s.deps.Phase.Total(),
		"events":         events,
		"count":          len(events),
		"minimal_mode":   cfg.MinimalMode,
		"safe_mode":      cfg.SafeMode,
		"modes": gin.H{
			"minimal_mode": cfg.MinimalMode,
			"safe_mode":    cfg.SafeMode,
			"auth":         authMode,
			"rate_limit":   rateMode,
		},
	})
}

// ignoredSettings lists the settings given for groups that are not linked:
// names and groups only, never values.
func ignoredSettings(in []config.IgnoredSetting) []config.IgnoredSetting {
	if in == nil {
		return []config.IgnoredSetting{}
	}
	return in
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
