package auth

import (
	"bufio"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// tokenRequest is the body of POST /auth/token.
type tokenRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// TokenResponse is the answer of POST /auth/token.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// TokenHandler serves POST /auth/token: username and password as JSON or
// as a form; 200 with a bearer token, 400 for a malformed request, 401 for
// wrong credentials (after the same bcrypt work either way), 503 when no
// token can be issued (auth off, no signing key, no USERS_FILE).
func (s *Stack) TokenHandler() gin.HandlerFunc {
	return func(c *gin.Context) {
		if p := s.IssuingProblem(); p != "" {
			apierr.Abort(c, http.StatusServiceUnavailable, "token_issuing_unavailable", p)
			return
		}
		req, ok := readTokenRequest(c)
		if !ok {
			return
		}
		// Bound the bcrypt work in flight to the CPUs; a flood of logins
		// waits here (until the client gives up) instead of starving
		// every other route.
		select {
		case s.bcryptSlots <- struct{}{}:
		case <-c.Request.Context().Done():
			apierr.Abort(c, http.StatusServiceUnavailable, "cancelled", "request cancelled while waiting for a password check")
			return
		}
		usr, ok := s.users.Authenticate(req.Username, req.Password)
		<-s.bcryptSlots
		if !ok {
			s.logins.WithLabelValues("failed").Inc()
			apierr.Abort(c, http.StatusUnauthorized, "invalid_credentials", "wrong username or password")
			return
		}
		tok, err := s.issuer.Issue(usr.Username, usr.Roles)
		if err != nil {
			apierr.Abort(c, http.StatusInternalServerError, "internal", "could not sign the token")
			return
		}
		s.logins.WithLabelValues("issued").Inc()
		c.Header("Cache-Control", "no-store")
		c.Header("Pragma", "no-cache")
		apierr.JSON(c, http.StatusOK, TokenResponse{AccessToken: tok, TokenType: "bearer", ExpiresIn: int(s.issuer.TTL().Seconds())})
	}
}

func readTokenRequest(c *gin.Context) (tokenRequest, bool) {
	var req tokenRequest
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	// Like every other JSON route, a body without a Content-Type is JSON;
	// so is an "urlencoded" one that starts with '{': curl -d sends JSON
	// under that type unless told otherwise, and no form starts so.
	if mt == "" || mt == "application/x-www-form-urlencoded" && startsWithBrace(c) {
		mt = "application/json"
	}
	switch mt {
	case "application/json":
		if !apierr.DecodeJSON(c, &req) {
			return req, false
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		// ParseForm first: ParseMultipartForm drops its error for a
		// urlencoded body (and answers ErrNotMultipart instead)
		err := c.Request.ParseForm()
		if err == nil && mt == "multipart/form-data" {
			err = c.Request.ParseMultipartForm(64 << 10)
		}
		if err != nil {
			// too large, too slow (408, as on every route) or out of body memory
			if apierr.AbortBodyRead(c, err) {
				return req, false
			}
			apierr.Abort(c, http.StatusBadRequest, "bad_form", "malformed form: "+err.Error())
			return req, false
		}
		req.Username, req.Password = c.Request.PostFormValue("username"), c.Request.PostFormValue("password")
	default:
		apierr.Abort(c, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send application/json or application/x-www-form-urlencoded with username and password")
		return req, false
	}
	switch {
	case req.Username == "":
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "field username is required")
	case len(req.Username) > MaxUsernameBytes:
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "field username is longer than 64 bytes")
	case req.Password == "":
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "field password is required")
	case len(req.Password) > MaxPasswordBytes:
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "field password is longer than 72 bytes")
	default:
		return req, true
	}
	return req, false
}

// startsWithBrace reports whether the request body's first byte after
// white space is '{', without consuming it: the body is put back behind a
// buffered reader (the peek reads at most one buffer, within the body limit).
func startsWithBrace(c *gin.Context) bool {
	body := c.Request.Body
	if body == nil || body == http.NoBody {
		return false
	}
	br := bufio.NewReader(body)
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{br, body}
	for {
		b, err := br.Peek(1)
		if err != nil {
			return false // the decoder that follows reports read errors (413 included)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.Discard(1)
		default:
			return b[0] == '{'
		}
	}
}
