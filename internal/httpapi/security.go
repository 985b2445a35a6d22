package httpapi

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// probePaths are polled by health checks, scrapers and the dashboard: the
// limiter never counts them (they must answer whatever a client does), and
// their request-log lines are DEBUG unless they fail.
var probePaths = []string{"/health", "/ready", "/__phase", "/metrics", "/startup/heartbeat", "/executive_dashboard.html", "/"}

// setupSecurity installs, after recovery and the body limit, the JWT
// identification and the rate limiter, and picks the user and admin
// guards. In SAFE_MODE neither middleware is installed; with no JWT key
// configured, auth is off (with a warning) and rate limiting stays on.
func (s *Server) setupSecurity() error {
	cfg := s.deps.Config
	st, err := auth.NewStack(cfg, s.deps.Metrics, nil)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	s.auth = st
	s.limiter = ratelimit.New(ratelimit.Options{
		RPS:        cfg.RateLimit.RPS,
		Burst:      cfg.RateLimit.Burst,
		MaxClients: cfg.RateLimit.MaxClients,
		Provided:   s.providedLimiter,
		Key:        clientKey,
		Exempt:     probePaths,
		Logger:     s.deps.Logger,
	})
	if err := s.limiter.Register(s.deps.Metrics); err != nil {
		return err
	}
	if s.deps.Services != nil {
		s.deps.Services.RateLimitOverrides.Provide(overridesAdapter{s})
	}

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
	return nil
}

func (s *Server) providedLimiter() (ratelimit.Limiter, bool) {
	if s.deps.Services == nil {
		return nil, false
	}
	return s.deps.Services.Limiter.Get()
}

// clientKey is the subject of a verified token, else the resolved client
// address (auth.ClientAddr: X-Forwarded-For only from TRUSTED_PROXIES).
func clientKey(c *gin.Context) string {
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

// overridesAdapter is core's groupapi.RateLimitOverrides: a registry file
// (optional group) sets per-route limits through it.
type overridesAdapter struct{ s *Server }

func (a overridesAdapter) SetOverrides(in map[string]groupapi.RateOverride) {
	m := make(map[string]ratelimit.Override, len(in))
	for k, v := range in {
		m[k] = ratelimit.Override{RPS: v.RPS, Burst: v.Burst}
	}
	if err := a.s.limiter.SetOverrides(m); err != nil {
		a.s.deps.Logger.Warn("rate-limit overrides partly rejected", "err", err)
	}
	a.s.deps.Phase.Info("ratelimit", fmt.Sprintf("RATELIMIT: %d per-route overrides in force", len(a.s.limiter.Overrides())))
}
