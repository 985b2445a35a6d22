// Package auth guards routes: JWT users and admins when auth is on, and the
// ADMIN_RESET_TOKEN fallback for admin routes when it is off (SAFE_MODE or
// no JWT key configured).
package auth

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// ClientAddr is the one resolved client address of a request: gin's
// ClientIP, which believes X-Forwarded-For / X-Real-IP only when the TCP
// peer is one of the engine's trusted proxies (TRUSTED_PROXIES, none by
// default). The admin guard, the request log and the rate limiter all
// judge on it, so that the address logged is the address judged.
func ClientAddr(c *gin.Context) string { return c.ClientIP() }

// TokenGuard is the admin guard used when JWT auth is off. With a token
// configured, the request must carry it as ?secret= or X-Admin-Token
// (compared in constant time); without one, only loopback clients pass,
// judged on ClientAddr: a remote client behind a trusted proxy is refused
// even though the proxy's own connection comes from loopback.
func TokenGuard(token string) gin.HandlerFunc {
	want := []byte(token)
	return func(c *gin.Context) {
		if token == "" {
			client := ClientAddr(c)
			if !isLoopback(client) {
				apierr.Abort(c, http.StatusForbidden, "forbidden", notLoopbackMessage(c, client))
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

// notLoopbackMessage says why a client was refused, naming the proxy when
// the address came from a forwarding header.
func notLoopbackMessage(c *gin.Context, client string) string {
	msg := "ADMIN_RESET_TOKEN is not set: admin endpoints accept loopback clients only"
	if client == "" {
		return msg + "; the client address could not be resolved"
	}
	if peer := c.RemoteIP(); peer != client {
		return fmt.Sprintf("%s; client %s (forwarded by trusted proxy %s) is not loopback", msg, client, peer)
	}
	return fmt.Sprintf("%s; client %s is not loopback", msg, client)
}

func isLoopback(addr string) bool {
	ip := net.ParseIP(addr)
	return ip != nil && ip.IsLoopback()
}
