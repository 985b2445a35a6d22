// Package httpapi builds the gin router from the parts it is handed:
// middleware, the core endpoints, the mount points of the linked groups, and
// JSON answers for everything else (404, 405, 501 for a group that is not
// linked, 503 for one that is off). It constructs no part and sets up no
// group: internal/service, the composition root, builds the latency engine,
// the auth stack and the limiter, hands them over, and mounts each group on
// the router GroupRoutes gives it.
package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/bodymem"
	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// Deps is what the router needs from the process, built by the
// composition root (internal/service).
type Deps struct {
	Config   *config.Config
	Logger   *slog.Logger
	Phase    *phase.Log
	Groups   *lifecycle.Runtime
	Metrics  *prometheus.Registry
	Services *groupapi.Services
	// Latency records every request and answers /api/v2/latency/...;
	// Close stops it.
	Latency *latency.Engine
	// Auth identifies clients and guards user and admin routes.
	Auth *auth.Stack
	// Limiter is the rate-limit middleware (local buckets, or the shared
	// limiter a group provides).
	Limiter *ratelimit.Middleware
}

// Server is the HTTP side of the service.
type Server struct {
	deps      Deps
	engine    *gin.Engine
	estimator capreport.Estimator
	lat       *latency.Engine
	admin     gin.HandlerFunc
	user      gin.HandlerFunc
	limits    apierr.RouteLimits // per-route body limits set by groups
	auth      *auth.Stack
	limiter   *ratelimit.Middleware
	// draining is set once shutdown begins (StartDrain).
	draining atomic.Bool
	bodies   *bodymem.Budget // REQUEST_BODY_MEMORY_MAX_BYTES
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New builds the router from the parts in d: middleware and core routes.
// The groups mount theirs afterwards on GroupRoutes; Finish then hands the
// route list to the latency engine.
func New(d Deps) (*Server, error) {
	if d.Latency == nil || d.Auth == nil || d.Limiter == nil {
		return nil, errors.New("httpapi: Deps lacks the latency engine, the auth stack or the limiter (built by internal/service)")
	}
	s := &Server{deps: d, bodies: bodymem.New(bodyBudget(d.Config)),
		lat: d.Latency, estimator: d.Latency.Info(), auth: d.Auth, limiter: d.Limiter}
	if err := s.initObservability(); err != nil { // observemetrics.go
		s.Close()
		return nil, err
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// gin trusts X-Forwarded-For from every peer by default; trust only
	// TRUSTED_PROXIES (none unless configured).
	if err := e.SetTrustedProxies(d.Config.Auth.TrustedProxies); err != nil {
		s.Close()
		return nil, fmt.Errorf("set trusted proxies: %w", err)
	}
	e.Use(apierr.OpenAIShape(groupspec.OpenAIPrefixes()), s.recordLatency(), s.requestLog(), s.recovery(), s.renderGuard(),
		connDeadlines(d.Config.HTTP.ReadTimeout, d.Config.HTTP.WriteTimeout),
		apierr.LimitBodyRoutes(d.Config.MaxBodyBytes, &s.limits), bodyMemory(s.bodies))
	s.engine = e

	s.installSecurity() // security.go: auth, rate limiting, guards

	s.mountCore()
	s.mountLatency()
	if err := registerCoreMetrics(d.Metrics, d.Groups, d.Config); err != nil {
		s.Close()
		return nil, err
	}
	if err := registerBodyMetrics(d.Metrics, s.bodies); err != nil {
		s.Close()
		return nil, err
	}
	e.NoRoute(s.noRoute)
	e.NoMethod(func(c *gin.Context) {
		apierr.Abort(c, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return s, nil
}

// Handler returns the http.Handler to serve. While draining, every answer
// carries "Connection: close": a load balancer's keep-alive connection is
// then closed by the answer it carries, never found idle and cut by the
// listener's close, which would race a request the balancer is sending on it.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		s.engine.ServeHTTP(w, r)
	})
}

// StartDrain begins a graceful shutdown's first step: /ready answers 503
// (so load balancers and orchestrators stop sending) while every route,
// /ready included, keeps being served. It cannot be undone.
func (s *Server) StartDrain() { s.draining.Store(true) }

// Draining reports whether StartDrain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// bodyBudget is REQUEST_BODY_MEMORY_MAX_BYTES; a Config built by hand
// (tests) without it gets the default.
func bodyBudget(cfg *config.Config) int64 {
	if cfg.HTTP.BodyMemoryMaxBytes > 0 {
		return cfg.HTTP.BodyMemoryMaxBytes
	}
	return config.DefaultBodyMemoryMaxBytes
}

// BodyBudget is the memory bound of request bodies in flight (for tests).
func (s *Server) BodyBudget() *bodymem.Budget { return s.bodies }

// Engine exposes the gin engine for tests.
func (s *Server) Engine() *gin.Engine { return s.engine }

// GroupRoutes is where a group mounts its routes: behind its gate (503
// while it is switched off at run time) and, when auth is on, the user
// guard; admin-only routes behind the admin guard, and each route's own
// body limit honoured (GroupRoutes in grouproutes.go).
func (s *Server) GroupRoutes(group string) groupapi.Router {
	return GroupRoutes(s.engine.Group("", s.gate(group), s.user), s.admin, &s.limits)
}

// Finish hands the router's routes to the latency engine, once every group
// has mounted its own.
func (s *Server) Finish() error { return s.trackLatencyRoutes() }

// gate answers 503 while a linked group is switched off at run time.
func (s *Server) gate(group string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.deps.Groups.Enabled(group) {
			apierr.Abort(c, http.StatusServiceUnavailable, "group_disabled", s.deps.Groups.DisabledReason(group))
			return
		}
		c.Next()
	}
}

// noRoute tells apart a group that is not linked (501), a linked group that
// is off (503) and a plain unknown path (404).
func (s *Server) noRoute(c *gin.Context) {
	path := c.Request.URL.Path
	if g, ok := groupspec.GroupForPath(path); ok {
		rt := s.deps.Groups
		switch {
		case !rt.Linked(g.Name):
			apierr.Abort(c, http.StatusNotImplemented, "group_not_linked",
				fmt.Sprintf("group %s is not linked into the %s variant (rebuild with -tags %s)", g.Name, rt.Variant(), g.Name))
			return
		case !rt.Enabled(g.Name):
			apierr.Abort(c, http.StatusServiceUnavailable, "group_disabled", rt.DisabledReason(g.Name))
			return
		}
	}
	apierr.Abort(c, http.StatusNotFound, "not_found", "no route for "+c.Request.Method+" "+path)
}

// recovery turns a panic into a 500 JSON error and a log line.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // the client is gone; let net/http drop the connection quietly
				}
				s.deps.Logger.Error("panic in handler", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(v))
				if c.Writer.Written() {
					c.Abort()
					return
				}
				apierr.Abort(c, http.StatusInternalServerError, "internal", "internal server error")
			}
		}()
		c.Next()
	}
}

// renderGuard logs every answer that failed to render and makes sure none
// ends as a 2xx with an empty body: apierr.JSON has already answered 500;
// for a handler that rendered through gin directly (which records the
// error and writes nothing, leaving a 200 with 0 bytes) it answers the 500
// here.
func (s *Server) renderGuard() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 {
			return
		}
		unwritten := !c.Writer.Written() // gin recorded a render error and wrote nothing
		if !unwritten && len(c.Errors.ByType(gin.ErrorTypeRender)) == 0 {
			return // other recorded errors were answered by their handler
		}
		s.deps.Logger.Error("answer not rendered", "method", c.Request.Method, "route", RouteKey(c), "err", c.Errors.String())
		if unwritten {
			apierr.Abort(c, http.StatusInternalServerError, "render_failed", "the answer could not be encoded as JSON")
		}
	}
}
