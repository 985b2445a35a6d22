package auth

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Stack is the JWT side of the service: verifier, issuer and users, with
// the middleware and the token endpoint built on them. When auth is off
// (SAFE_MODE, or no JWT key configured) it holds no keys and says why.
type Stack struct {
	_        [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	verifier *Verifier // nil when auth is off
	issuer   *Issuer   // nil when tokens cannot be issued
	users    *Users    // nil without USERS_FILE
	mode     string
	offWhy   string // why auth is off ("" when on)
	noIssue  string // why POST /auth/token cannot issue ("" when it can)
	realm    string
	// bcryptSlots bounds concurrent password checks (GOMAXPROCS).
	bcryptSlots chan struct{}

	rejections *prometheus.CounterVec
	logins     *prometheus.CounterVec
}

// Why auth is off.
const (
	OffSafeMode      = "SAFE_MODE"
	OffNotConfigured = "JWT not configured"
)

// NewStack reads the keys and the users file the configuration names. In
// SAFE_MODE nothing is read. Metrics are registered on reg when not nil.
// now may be nil (time.Now).
func NewStack(cfg *config.Config, reg prometheus.Registerer, now func() time.Time) (*Stack, error) {
	s := &Stack{
		realm:       "advanced-backend",
		bcryptSlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_auth_rejections_total",
			Help: "Requests refused by the JWT guards, by reason (missing, invalid, too_large, forbidden).",
		}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_auth_logins_total",
			Help: "POST /auth/token attempts by result (issued, failed).",
		}, []string{"result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.rejections, s.logins} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register auth metrics: %w", err)
			}
		}
	}
	a := cfg.Auth
	switch {
	case cfg.SafeMode:
		s.offWhy, s.noIssue = OffSafeMode, "auth is off (SAFE_MODE)"
	case !a.JWTConfigured():
		s.offWhy, s.noIssue = OffNotConfigured, "auth is off (JWT_SECRET / JWT_PUBLIC_KEY_FILE not set)"
	}
	if s.offWhy != "" {
		s.mode = "off (" + s.offWhy + ")"
		return s, nil
	}
	ks, err := loadKeys(a)
	if err != nil {
		return nil, err
	}
	s.verifier = newVerifier(ks, a, now)
	s.mode = "jwt-" + strings.ToLower(ks.alg)
	s.issuer, err = newIssuer(ks, a, now)
	if errors.Is(err, ErrCannotIssue) {
		s.noIssue = err.Error()
	} else if err != nil {
		return nil, err
	}
	if a.UsersFile == "" {
		if s.noIssue == "" {
			s.noIssue = "USERS_FILE is not set"
		}
		return s, nil
	}
	s.users, err = LoadUsers(a.UsersFile)
	if err != nil {
		return nil, fmt.Errorf("USERS_FILE: %w", err)
	}
	return s, nil
}

// Enabled reports whether JWT auth is on.
func (s *Stack) Enabled() bool { return s.verifier != nil }

// Mode names the auth mode for /health and /__phase: "jwt-hs256",
// "jwt-rs256", ..., "off (SAFE_MODE)" or "off (JWT not configured)".
func (s *Stack) Mode() string { return s.mode }

// OffReason is why auth is off ("" when it is on).
func (s *Stack) OffReason() string { return s.offWhy }

// Verifier is the token verifier (nil when auth is off).
func (s *Stack) Verifier() *Verifier { return s.verifier }

// Users is the loaded users file (nil when none).
func (s *Stack) Users() *Users { return s.users }

// IssuingProblem says why POST /auth/token cannot issue tokens ("" when it can).
func (s *Stack) IssuingProblem() string {
	if s.noIssue == "" && s.users == nil {
		return "USERS_FILE is not set"
	}
	return s.noIssue
}
