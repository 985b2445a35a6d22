package auth

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Bounds of the role claims of a token.
const (
	maxRoles             = 32
	maxRoleBytes         = 64
	AdminRole            = "admin"
	defaultMaxTokenBytes = 4096
)

// Claims are the claims this service reads. Claims of the wrong JSON type
// (a numeric sub, a string exp, roles that are not strings) fail to decode
// and the token is rejected.
type Claims struct {
	jwt.RegisteredClaims
	Roles Roles  `json:"roles,omitempty"`
	Role  string `json:"role,omitempty"`
}

// AllRoles merges the roles and role claims.
func (c *Claims) AllRoles() []string {
	out := slices.Clone([]string(c.Roles))
	if c.Role != "" && !slices.Contains(out, c.Role) {
		out = append(out, c.Role)
	}
	return out
}

// HasRole reports whether the token carries the role.
func (c *Claims) HasRole(role string) bool { return slices.Contains(c.AllRoles(), role) }

// Roles is the roles claim: a JSON array of strings, or one string.
type Roles []string

// UnmarshalJSON accepts ["a","b"], "a" or null; anything else is an error.
func (r *Roles) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*r = Roles{one}
		return r.check()
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("roles claim: want a string or an array of strings")
	}
	*r = many
	return r.check()
}

func (r Roles) check() error {
	if len(r) > maxRoles {
		return fmt.Errorf("roles claim: more than %d roles", maxRoles)
	}
	for _, s := range r {
		if s == "" || len(s) > maxRoleBytes {
			return fmt.Errorf("roles claim: each role must be 1 to %d bytes", maxRoleBytes)
		}
	}
	return nil
}

// Validate is called by the parser after the registered claims checks.
func (c *Claims) Validate() error {
	if c.Subject == "" {
		return errors.New("sub claim is required")
	}
	if len(c.Role) > maxRoleBytes {
		return fmt.Errorf("role claim longer than %d bytes", maxRoleBytes)
	}
	return nil
}

// ErrTokenTooLarge is returned for tokens over the configured bound; they
// are rejected before any parsing.
var ErrTokenTooLarge = errors.New("token too large")

// Verifier checks bearer tokens: the one configured algorithm, signature,
// exp (required), nbf, iat, iss and aud when configured, with a leeway.
type Verifier struct {
	keys     *keySet
	parser   *jwt.Parser
	maxBytes int
	now      func() time.Time
	leeway   time.Duration
	verified verifiedCache
}

// NewVerifier builds the verifier from the configuration (keys are read
// from their files here). now may be nil (time.Now).
func NewVerifier(a config.AuthConfig, now func() time.Time) (*Verifier, error) {
	ks, err := loadKeys(a)
	if err != nil {
		return nil, err
	}
	return newVerifier(ks, a, now), nil
}

func newVerifier(ks *keySet, a config.AuthConfig, now func() time.Time) *Verifier {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{ks.alg}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(a.Leeway),
		jwt.WithStrictDecoding(),
	}
	if now != nil {
		opts = append(opts, jwt.WithTimeFunc(now))
	}
	if a.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.Issuer))
	}
	if a.Audience != "" {
		opts = append(opts, jwt.WithAudience(a.Audience))
	}
	maxBytes := a.MaxTokenBytes
	if maxBytes <= 0 {
		maxBytes = defaultMaxTokenBytes
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: ks, parser: jwt.NewParser(opts...), maxBytes: maxBytes, now: now, leeway: a.Leeway}
}

// Algorithm is the one accepted algorithm (HS256, RS256, ES256, EdDSA).
func (v *Verifier) Algorithm() string { return v.keys.alg }

// Verify parses and checks a raw token. A token verified in the last
// minute (and not expired since) is answered from a bounded cache, so the
// returned claims may be shared between requests carrying the same token:
// read them, never modify them.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	if len(raw) > v.maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTokenTooLarge, len(raw), v.maxBytes)
	}
	key := sha256.Sum256([]byte(raw))
	now := v.now()
	if c, ok := v.verified.get(key, now); ok {
		return c, nil
	}
	claims := &Claims{}
	_, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		// WithValidMethods has already refused any other alg; check the
		// method object too so a name collision cannot pass.
		if t.Method != v.keys.method {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		// RFC 7515 4.1.11: a critical extension we do not understand
		// (we understand none) makes the token invalid.
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("crit header: no critical extensions are supported")
		}
		return v.keys.verify, nil
	})
	if err != nil {
		return nil, describeJWTError(err)
	}
	v.verified.put(key, claims, now, v.leeway)
	return claims, nil
}

// describeJWTError keeps the message short and free of token contents.
func describeJWTError(err error) error {
	for _, k := range []struct {
		target error
		msg    string
	}{
		{jwt.ErrTokenMalformed, "malformed token"},
		{jwt.ErrTokenSignatureInvalid, "invalid signature or algorithm"},
		{jwt.ErrTokenUnverifiable, "token cannot be verified"},
		{jwt.ErrTokenRequiredClaimMissing, "required claim missing"},
		{jwt.ErrTokenExpired, "token expired"},
		{jwt.ErrTokenNotValidYet, "token not valid yet"},
		{jwt.ErrTokenUsedBeforeIssued, "token used before issued"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenInvalidClaims, "invalid claims"},
	} {
		if errors.Is(err, k.target) {
			return fmt.Errorf("%s: %w", k.msg, err)
		}
	}
	return fmt.Errorf("invalid token: %w", err)
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header. ok is false when there is no Authorization header at all.
func bearerToken(values []string) (token string, present bool, err error) {
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, errors.New("more than one Authorization header")
	}
	scheme, tok, found := strings.Cut(values[0], " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true, errors.New("want Authorization: Bearer <token>")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", true, errors.New("empty bearer token")
	}
	return tok, true, nil
}
