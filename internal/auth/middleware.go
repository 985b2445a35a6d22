package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// Keys of the gin context.
const (
	ctxIdentified = "auth.identified"
	ctxClaims     = "auth.claims"
	ctxErr        = "auth.error"
)

// outcome is what identification found out about one request.
type outcome struct {
	_       [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	claims  *Claims
	present bool  // an Authorization header was sent
	err     error // why the token was refused
}

// Identify verifies the bearer token, if any, once per request and keeps
// the result for the guards and the rate limiter (which keys an
// authenticated client by its subject). It never rejects by itself.
func (s *Stack) Identify() gin.HandlerFunc {
	return func(c *gin.Context) {
		s.identify(c)
		c.Next()
	}
}

func (s *Stack) identify(c *gin.Context) outcome {
	if v, ok := c.Get(ctxIdentified); ok {
		return v.(outcome)
	}
	var o outcome
	if s.verifier != nil {
		tok, present, err := bearerToken(c.Request.Header.Values("Authorization"))
		o.present = present
		switch {
		case err != nil:
			o.err = err
		case present:
			o.claims, o.err = s.verifier.Verify(tok)
		}
	}
	c.Set(ctxIdentified, o)
	if o.claims != nil {
		c.Set(ctxClaims, o.claims)
	}
	return o
}

// ClaimsFrom returns the verified claims of the request, if any.
func ClaimsFrom(c *gin.Context) (*Claims, bool) {
	v, ok := c.Get(ctxClaims)
	if !ok {
		return nil, false
	}
	cl, ok := v.(*Claims)
	return cl, ok
}

// Subject returns the verified subject of the request, if any.
func Subject(c *gin.Context) (string, bool) {
	cl, ok := ClaimsFrom(c)
	if !ok {
		return "", false
	}
	return cl.Subject, true
}

// RequireUser lets through requests with a valid token: 401 with a
// WWW-Authenticate: Bearer challenge otherwise. With auth off it passes
// every request (the caller decides whether to install it then).
func (s *Stack) RequireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.verifier == nil {
			c.Next()
			return
		}
		if _, ok := s.authenticated(c); ok {
			c.Next()
		}
	}
}

// RequireAdmin lets through requests with a valid token carrying the admin
// role: 401 without a valid token, 403 with a valid token of another role.
func (s *Stack) RequireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.verifier == nil {
			apierr.Abort(c, http.StatusServiceUnavailable, "auth_off", "JWT auth is "+s.mode)
			return
		}
		cl, ok := s.authenticated(c)
		if !ok {
			return
		}
		if !cl.HasRole(AdminRole) {
			s.rejections.WithLabelValues("forbidden").Inc()
			apierr.Abort(c, http.StatusForbidden, "forbidden", "this route needs the admin role")
			return
		}
		c.Next()
	}
}

// authenticated returns the claims, or writes the 401 and returns false.
func (s *Stack) authenticated(c *gin.Context) (*Claims, bool) {
	o := s.identify(c)
	if o.claims != nil {
		return o.claims, true
	}
	challenge := `Bearer realm="` + s.realm + `"`
	reason, msg := "missing", "a bearer token is required (Authorization: Bearer <token>)"
	if o.present {
		reason = "invalid"
		if errors.Is(o.err, ErrTokenTooLarge) {
			reason = "too_large"
		}
		msg = "invalid token: " + o.err.Error()
		challenge += `, error="invalid_token", error_description="` + sanitizeQuoted(o.err.Error()) + `"`
	}
	s.rejections.WithLabelValues(reason).Inc()
	c.Header("WWW-Authenticate", challenge)
	apierr.Abort(c, http.StatusUnauthorized, "unauthorized", msg)
	return nil, false
}

// sanitizeQuoted keeps a header quoted-string free of quotes, backslashes
// and control characters.
func sanitizeQuoted(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return '\''
		}
		return r
	}, s)
}
