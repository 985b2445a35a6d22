package apierr

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// RouteLimits holds the body limits of routes that differ from the default
// (an upload route takes more than a JSON route). Keys are the method and
// the route template as gin reports it (c.FullPath()).
type RouteLimits struct {
	mu sync.RWMutex
	m  map[string]int64
}

// Set declares the body limit of one route.
func (r *RouteLimits) Set(method, fullPath string, limit int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]int64{}
	}
	r.m[method+" "+fullPath] = limit
}

// Get returns the declared limit of a route.
func (r *RouteLimits) Get(method, fullPath string) (int64, bool) {
	if r == nil {
		return 0, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	n, ok := r.m[method+" "+fullPath]
	return n, ok
}

// LimitBodyRoutes is LimitBody with per-route exceptions: a route declared in
// routes gets its own limit, every other request def. gin has matched the
// route before any handler runs, so c.FullPath() is already known here.
func LimitBodyRoutes(def int64, routes *RouteLimits) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := def
		if n, ok := routes.Get(c.Request.Method, c.FullPath()); ok {
			limit = n
		}
		if c.Request.ContentLength > limit {
			Abort(c, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("request body exceeds %d bytes", limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}
