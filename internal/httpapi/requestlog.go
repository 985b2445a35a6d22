package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/latency"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLen bounds an accepted X-Request-ID; a longer or otherwise
// unusual value is replaced by a generated one.
const maxRequestIDLen = 64

// unmatchedRoute is the route key of requests that matched no route (the
// latency engine's key, so logs, metrics and the dashboard agree).
const unmatchedRoute = latency.UnmatchedKey

// maxLoggedPath bounds the raw path written to a request log line.
const maxLoggedPath = 256

// requestIDKey is where the request id lives in the gin context.
const requestIDKey = "request_id"

// RequestID returns the id of the request being served ("" outside the
// request-log middleware).
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// RouteKey returns the bounded route key of a served request: "METHOD
// /template" for a matched route, "(unmatched)" otherwise.
func RouteKey(c *gin.Context) string {
	if fp := c.FullPath(); fp != "" {
		return c.Request.Method + " " + fp
	}
	return unmatchedRoute
}

// validRequestID accepts 1-64 characters of [A-Za-z0-9._:-].
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9',
			b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 16 random bytes in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
	return hex.EncodeToString(b[:])
}

// requestLog assigns the request id (accepted from X-Request-ID when sane,
// else generated) and echoes it, and writes one log line per request when
// enabled. It runs outside recovery, so it sees the status that recovery
// sets after a panic.
func (s *Server) requestLog() gin.HandlerFunc {
	logger := s.deps.Logger
	enabled := s.deps.Config.Observability.RequestLog
	quiet := map[string]bool{}
	for _, p := range probePaths {
		quiet[p] = true
	}
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Set(requestIDKey, id)
		c.Header(RequestIDHeader, id)

		c.Next()

		if !enabled {
			return
		}
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status == http.StatusServiceUnavailable && c.FullPath() == readyPath:
			level = slog.LevelDebug // "not ready" is /ready's answer, not a failure; polled every few seconds
		case status >= 500:
			level = slog.LevelError
		case quiet[c.FullPath()]:
			level = slog.LevelDebug // probes would drown the log (and cost a formatted line each)
		}
		ctx := c.Request.Context()
		if !logger.Enabled(ctx, level) {
			return
		}
		logger.LogAttrs(context.WithoutCancel(ctx), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", RouteKey(c)),
			slog.String("path", truncate(c.Request.URL.Path, maxLoggedPath)),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.String("client", auth.ClientAddr(c)),
			slog.String("request_id", id),
		)
	}
}

// truncate cuts s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
