package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/latency"
)

// recordLatency is the outermost middleware: it times every request and
// records it under its route template (gin's FullPath), or the shared
// unmatched key, with its status. The engine's Record only appends to a
// sharded buffer; the estimators are fed off the request path.
func (s *Server) recordLatency() gin.HandlerFunc {
	eng := s.lat
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		eng.RecordRequest(c.Request.Method, c.FullPath(), c.Writer.Status(), time.Since(start))
	}
}

// trackLatencyRoutes hands the router's routes to the engine once every
// group has mounted its own.
func (s *Server) trackLatencyRoutes() error {
	var routes []latency.Route
	for _, r := range s.engine.Routes() {
		routes = append(routes, latency.Route{Method: r.Method, Path: r.Path})
	}
	if err := s.lat.SetRoutes(routes); err != nil {
		return fmt.Errorf("latency routes: %w", err)
	}
	return nil
}

func (s *Server) mountLatency() {
	s.engine.GET("/api/v2/latency/quantiles", s.latencyQuantiles)
	s.engine.GET("/api/v2/latency/distribution", s.latencyDistribution)
	s.engine.POST("/admin/adaptive/reset", s.admin, s.latencyReset)
}

// Close stops the latency engine's ingestion goroutine.
func (s *Server) Close() { s.lat.Close() }

// routeFilter reads ?route=; present but empty is a 400.
func routeFilter(c *gin.Context) (string, bool) {
	r, ok := c.GetQuery("route")
	if ok && strings.TrimSpace(r) == "" {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", `route must be a tracked key such as "GET /health"`)
		return "", false
	}
	return r, true
}

func latencyLookupError(c *gin.Context, err error) {
	var unknown latency.ErrUnknownRoute
	if errors.As(err, &unknown) {
		apierr.Abort(c, http.StatusNotFound, "unknown_route", err.Error())
		return
	}
	apierr.Abort(c, http.StatusInternalServerError, "internal", err.Error())
}

// latencyQuantiles serves GET /api/v2/latency/quantiles[?route=][&q=0.999[,0.9999]...][&scope=local|cluster].
func (s *Server) latencyQuantiles(c *gin.Context) {
	scope, ok := latencyScope(c)
	if !ok {
		return
	}
	route, ok := routeFilter(c)
	if !ok {
		return
	}
	var extra []float64
	for _, raw := range c.QueryArray("q") {
		for _, part := range strings.Split(raw, ",") {
			q, err := latency.ParseQuantile(part)
			if err != nil {
				apierr.Abort(c, http.StatusBadRequest, "bad_quantile", err.Error())
				return
			}
			extra = append(extra, q)
		}
	}
	if len(extra) > latency.MaxExtraQuantiles {
		apierr.Abort(c, http.StatusBadRequest, "bad_quantile",
			fmt.Sprintf("at most %d extra quantiles per request", latency.MaxExtraQuantiles))
		return
	}
	if scope == "cluster" {
		s.clusterQuantiles(c, extra, route)
		return
	}
	rep, err := s.lat.Quantiles(extra, route)
	if err != nil {
		latencyLookupError(c, err)
		return
	}
	apierr.JSON(c, http.StatusOK, rep)
}

// latencyDistribution serves GET /api/v2/latency/distribution[?route=].
func (s *Server) latencyDistribution(c *gin.Context) {
	scope, ok := latencyScope(c)
	if !ok {
		return
	}
	route, ok := routeFilter(c)
	if !ok {
		return
	}
	if scope == "cluster" {
		s.clusterDistribution(c, route)
		return
	}
	rep, err := s.lat.Distribution(route)
	if err != nil {
		latencyLookupError(c, err)
		return
	}
	apierr.JSON(c, http.StatusOK, rep)
}

// latencyReset serves POST /admin/adaptive/reset (behind the admin guard).
func (s *Server) latencyReset(c *gin.Context) {
	scope, ok := latencyScope(c)
	if !ok {
		return
	}
	if scope == "cluster" {
		s.clusterReset(c)
		return
	}
	res := s.lat.Reset()
	s.deps.Phase.Info("latency", fmt.Sprintf("LATENCY: reset by %s, %d routes and %d samples cleared",
		auth.ClientAddr(c), res.ClearedRoutes, res.ClearedSamples))
	apierr.JSON(c, http.StatusOK, gin.H{
		"cleared_routes":  res.ClearedRoutes,
		"cleared_samples": res.ClearedSamples,
		"estimator":       s.estimator,
		"reset_at":        time.Now().UTC().Format(time.RFC3339Nano),
	})
}

// Latency returns the latency engine (for tests and the service).
func (s *Server) Latency() *latency.Engine { return s.lat }
