// Package auth guards routes: JWT users and admins when auth is on, and the
// ADMIN_RESET_TOKEN fallback for admin routes when it is off (SAFE_MODE or
// no JWT key configured).
package auth

import (
	"crypto/subtle"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// TokenGuard is the admin guard used when JWT auth is off. With a token
// configured, the request must carry it as ?secret= or X-Admin-Token
// (compared in constant time); without one, only loopback clients pass.
func TokenGuard(token string) gin.HandlerFunc {
	want := []byte(token)
	return func(c *gin.Context) {
		if token == "" {
			if !isLoopback(c.Request.RemoteAddr) {
				apierr.Abort(c, http.StatusForbidden, "forbidden",
					"ADMIN_RESET_TOKEN is not set: admin endpoints accept loopback clients only")
				return
			}
			c.Next()
			return
		}
		got := c.GetHeader("X-Admin-Token")
		if got == "" {
			got = c.Query("secret")
		}
		if got == "" {
			apierr.Abort(c, http.StatusUnauthorized, "unauthorized", "admin token required (X-Admin-Token header or ?secret=)")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			apierr.Abort(c, http.StatusUnauthorized, "unauthorized", "admin token does not match")
			return
		}
		c.Next()
	}
}

// isLoopback looks at the TCP peer, never at forwarding headers.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
