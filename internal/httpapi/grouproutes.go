package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// GroupRoutes is groupapi.Router on gin: each route a group mounts is
// served on routes (which carries the group's gate and user guard), behind
// admin when the route is AdminOnly, with its own body limit recorded in
// limits (applied by apierr.LimitBodyRoutes, which runs before any handler),
// and the group's net/http handler called with gin's path parameters as
// path values and a render report that records on gin's context, where the
// router's renderGuard logs it. The route's gin template
// (/collections/:name) is the key of the latency engine and of the body
// limits, as for core's routes.
func GroupRoutes(routes gin.IRoutes, admin gin.HandlerFunc, limits *apierr.RouteLimits) groupapi.Router {
	return groupRoutes{routes: routes, admin: admin, limits: limits}
}

type groupRoutes struct {
	routes gin.IRoutes
	admin  gin.HandlerFunc
	limits *apierr.RouteLimits
}

func (g groupRoutes) Handle(method, pattern string, h http.Handler, opts ...groupapi.RouteOption) {
	path, err := ginPath(pattern)
	if err != nil {
		panic(fmt.Sprintf("httpapi: %s %s: %v", method, pattern, err))
	}
	o := groupapi.Options(opts)
	if o.MaxBodyBytes > 0 {
		g.limits.Set(method, path, o.MaxBodyBytes)
	}
	var chain []gin.HandlerFunc
	if o.AdminOnly {
		if g.admin == nil {
			panic(fmt.Sprintf("httpapi: %s %s: admin-only route on a router without an admin guard", method, pattern))
		}
		chain = append(chain, g.admin)
	}
	g.routes.Handle(method, path, append(chain, serveGroup(h))...)
}

// serveGroup calls a group's handler from gin.
func serveGroup(h http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request.WithContext(apierr.WithRenderReport(c.Request.Context(), func(err error) {
			_ = c.Error(err).SetType(gin.ErrorTypeRender)
		}))
		for _, p := range c.Params {
			// gin's catch-all value keeps its leading slash; ServeMux's {name...} does not
			r.SetPathValue(p.Key, strings.TrimPrefix(p.Value, "/"))
		}
		h.ServeHTTP(c.Writer, r)
	}
}

// ginPath turns a ServeMux pattern's path into gin's: {name} is :name and
// a last {name...} is *name. Other ServeMux forms ({$}, a wildcard inside
// a segment) have no gin equivalent and are refused.
func ginPath(pattern string) (string, error) {
	if !strings.HasPrefix(pattern, "/") {
		return "", errors.New("the pattern must be a path starting with /")
	}
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if !strings.ContainsAny(s, "{}:*") {
			continue
		}
		name, open := strings.CutPrefix(s, "{")
		name, closed := strings.CutSuffix(name, "}")
		if !open || !closed {
			return "", fmt.Errorf("segment %q: a wildcard is a whole segment, {name} or a last {name...}", s)
		}
		kind := ":"
		if rest, ok := strings.CutSuffix(name, "..."); ok {
			if i != len(segs)-1 {
				return "", fmt.Errorf("segment %q: {name...} must be the last segment", s)
			}
			name, kind = rest, "*"
		}
		if name == "" || strings.IndexFunc(name, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) >= 0 {
			return "", fmt.Errorf("segment %q: a wildcard's name is letters, digits and _", s)
		}
		segs[i] = kind + name
	}
	return strings.Join(segs, "/"), nil
}

// GroupMetrics is groupapi.Metrics over a Prometheus registerer.
func GroupMetrics(reg prometheus.Registerer) groupapi.Metrics { return groupMetrics{reg} }

type groupMetrics struct{ reg prometheus.Registerer }

func (m groupMetrics) Register(collector any) error {
	c, ok := collector.(prometheus.Collector)
	if !ok {
		return fmt.Errorf("metrics: %T is not a Prometheus collector (prometheus.Collector)", collector)
	}
	return m.reg.Register(c)
}
