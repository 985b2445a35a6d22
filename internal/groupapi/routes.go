package groupapi

import "net/http"

// Router is where a group mounts its routes. Core serves them behind the
// group's gate (503 while the group is switched off at run time), the user
// guard when auth is on, the latency engine (keyed by the route's pattern)
// and the body limit (MAX_BODY_BYTES unless the route says otherwise).
// Handlers are plain net/http handlers: they write with the
// ResponseWriter (which flushes: http.NewResponseController(w).Flush) and
// read path values with r.PathValue.
type Router interface {
	// Handle mounts h for method at pattern, a path in net/http.ServeMux's
	// syntax: a segment {name} matches one path segment, a last segment
	// {name...} the rest of the path (without its leading slash), and
	// r.PathValue(name) returns what matched. A pattern that clashes with
	// a mounted one is a programming error and panics, as ServeMux's does.
	Handle(method, pattern string, h http.Handler, opts ...RouteOption)
}

// RouteOptions is what a route asks of core beyond the defaults.
type RouteOptions struct {
	// AdminOnly: the route needs an admin (a token with the admin role, or
	// in SAFE_MODE the ADMIN_RESET_TOKEN or a loopback client).
	AdminOnly bool
	// MaxBodyBytes is the route's body limit; 0 means core's MAX_BODY_BYTES.
	MaxBodyBytes int64
}

// RouteOption sets one of a route's options.
type RouteOption func(*RouteOptions)

// AdminOnly guards a route for admins only.
var AdminOnly RouteOption = func(o *RouteOptions) { o.AdminOnly = true }

// MaxBodyBytes gives a route a body limit of its own (an upload route
// takes more than a JSON route).
func MaxBodyBytes(n int64) RouteOption { return func(o *RouteOptions) { o.MaxBodyBytes = n } }

// Options applies opts in order, for the router that honours them.
func Options(opts []RouteOption) RouteOptions {
	var o RouteOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Metrics registers a group's collectors with the service's metrics
// registry (served at /metrics). collector is a client_golang
// prometheus.Collector: the parameter is any so that this package links no
// Prometheus. Anything else, and a collector whose metrics clash with
// registered ones, is an error.
type Metrics interface {
	Register(collector any) error
}

// Phase is the service's phase log (start-up and run-time events shown at
// /__phase and in the log), as groups write to it.
type Phase interface {
	Info(kind, msg string)
	Warn(kind, msg string)
	Error(kind, msg string)
}
