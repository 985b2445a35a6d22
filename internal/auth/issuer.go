package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// ErrCannotIssue means the configuration has a verification key but no
// signing key (an asymmetric algorithm without JWT_PRIVATE_KEY_FILE).
var ErrCannotIssue = errors.New("token issuing needs JWT_SECRET or JWT_PRIVATE_KEY_FILE")

// Issuer signs access tokens for authenticated users.
type Issuer struct {
	keys     *keySet
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

func newIssuer(ks *keySet, a config.AuthConfig, now func() time.Time) (*Issuer, error) {
	if ks.sign == nil {
		return nil, ErrCannotIssue
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{keys: ks, issuer: a.Issuer, audience: a.Audience, ttl: a.TTL, now: now}, nil
}

// TTL is the lifetime of issued tokens.
func (is *Issuer) TTL() time.Duration { return is.ttl }

// Issue returns a signed token for the subject with the given roles.
func (is *Issuer) Issue(subject string, roles []string) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	now := is.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(is.ttl)),
			ID:        hex.EncodeToString(jti[:]),
			Issuer:    is.issuer,
		},
		Roles: roles,
	}
	if is.audience != "" {
		c.Audience = jwt.ClaimStrings{is.audience}
	}
	s, err := jwt.NewWithClaims(is.keys.method, c).SignedString(is.keys.sign)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
