package httpapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// probePaths are polled by health checks, scrapers and the dashboard: the
// limiter never counts them (they must answer whatever a client does), and
// their request-log lines are DEBUG unless they fail.
var probePaths = []string{"/health", "/ready", "/__phase", "/metrics", "/startup/heartbeat", "/executive_dashboard.html", "/"}

// ProbePaths are the paths the limiter must never count (for the
// composition root that builds it).
func ProbePaths() []string { return slices.Clone(probePaths) }

// installSecurity installs, after recovery and the body limit, the JWT
// identification and the rate limiter it was handed, and picks the user
// and admin guards. In SAFE_MODE neither middleware is installed; with no
// JWT key configured, auth is off (with a warning) and rate limiting stays
// on.
func (s *Server) installSecurity() {
	cfg := s.deps.Config
	st := s.auth
	if st.Enabled() {
		s.engine.Use(st.Identify())
	}
	if s.rateLimitOn() {
		s.engine.Use(s.limiter.Handler())
	}
	if st.Enabled() {
		s.user, s.admin = st.RequireUser(), st.RequireAdmin()
	} else {
		s.user, s.admin = func(c *gin.Context) { c.Next() }, auth.TokenGuard(cfg.AdminResetToken)
	}
	s.engine.POST("/auth/token", st.TokenHandler())
	s.authModeEvents()
}

func (s *Server) providedLimiter() (groupapi.Limiter, bool) {
	if s.deps.Services == nil {
		return nil, false
	}
	return s.deps.Services.Limiter.Get()
}

// ClientKey is the limiter's client key: the subject of a verified token,
// else the resolved client address (auth.ClientAddr: X-Forwarded-For only
// from TRUSTED_PROXIES).
func ClientKey(c *gin.Context) string {
	if sub, ok := auth.Subject(c); ok {
		return "sub:" + sub
	}
	return "ip:" + auth.ClientAddr(c)
}

func (s *Server) rateLimitOn() bool {
	return !s.deps.Config.SafeMode && s.deps.Config.RateLimit.RPS > 0
}

// rateLimitMode names the limiter in force for /health and /__phase.
func (s *Server) rateLimitMode() string {
	switch {
	case s.deps.Config.SafeMode:
		return "off (SAFE_MODE)"
	case s.deps.Config.RateLimit.RPS <= 0:
		return "off (RATE_LIMIT_RPS=0)"
	}
	if _, ok := s.providedLimiter(); ok {
		return "shared (local fallback)"
	}
	return "local"
}

// adminGuard names the guard of admin routes.
func (s *Server) adminGuard() string {
	switch {
	case s.auth.Enabled():
		return "jwt (role admin)"
	case s.deps.Config.AdminResetToken != "":
		return "ADMIN_RESET_TOKEN"
	}
	return "loopback only"
}

// authModeEvents records in the phase log which guards are in force.
func (s *Server) authModeEvents() {
	cfg := s.deps.Config
	pl := s.deps.Phase
	switch {
	case cfg.SafeMode:
		pl.Warn("mode", "INIT: SAFE_MODE active - auth and rate limiting skipped")
	case !s.auth.Enabled():
		pl.Warn("auth", "INIT: JWT not configured (set JWT_SECRET or JWT_PUBLIC_KEY_FILE) - auth off: group routes open, admin routes fall back to ADMIN_RESET_TOKEN")
		if cfg.Auth.UsersFile != "" {
			pl.Warn("auth", "INIT: USERS_FILE is set but JWT is not configured - POST /auth/token answers 503")
		}
	default:
		pl.Info("auth", fmt.Sprintf("INIT: JWT auth on (%s) - group routes need a token, admin routes the admin role", s.auth.Verifier().Algorithm()))
		if p := s.auth.IssuingProblem(); p != "" {
			pl.Info("auth", "INIT: POST /auth/token disabled: "+p)
		} else {
			pl.Info("auth", fmt.Sprintf("INIT: POST /auth/token issues tokens for %d users", s.auth.Users().Len()))
		}
	}
	if !s.auth.Enabled() && cfg.AdminResetToken == "" {
		pl.Warn("auth", "ADMIN_RESET_TOKEN not set - admin endpoints accept loopback clients only (judged on the resolved client address)")
	}
	if s.auth.Enabled() && cfg.AdminResetToken != "" {
		pl.Warn("auth", "INIT: ADMIN_RESET_TOKEN is set but ignored: JWT auth is on, admin routes need a token with the admin role")
	}
	if cfg.SafeMode {
		return
	}
	if !s.rateLimitOn() {
		pl.Warn("ratelimit", "INIT: RATE_LIMIT_RPS=0 - rate limiting off")
		return
	}
	proxies := "none"
	if len(cfg.Auth.TrustedProxies) > 0 {
		proxies = strings.Join(cfg.Auth.TrustedProxies, ",")
	}
	pl.Info("ratelimit", fmt.Sprintf("INIT: rate limiting on - %g rps, burst %d per client (token subject or IP), table bound %d, trusted proxies: %s",
		cfg.RateLimit.RPS, cfg.RateLimit.Burst, cfg.RateLimit.MaxClients, proxies))
}

// securityInfo is the auth and rate-limit part of /health, /__phase and
// the heartbeat.
func (s *Server) securityInfo() (authMode, rateMode string) {
	return s.auth.Mode(), s.rateLimitMode()
}
