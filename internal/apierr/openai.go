package apierr

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// OpenAIBody is the error envelope of OpenAI's API,
// {"error":{"message","type","param","code"}}; the OpenAI SDKs map the
// status to an exception class and read these fields.
type OpenAIBody struct {
	_     [0]func()    // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	Error OpenAIDetail `json:"error"`
}

// OpenAIDetail is the error itself. Param names the offending request field
// (null when none).
type OpenAIDetail struct {
	_       [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	Message string    `json:"message"`
	Type    string    `json:"type"`
	Param   *string   `json:"param"`
	Code    string    `json:"code"`
}

// openAIKey marks, in a request's context, a request whose errors take
// OpenAI's shape.
type openAIKey struct{}

// OpenAIShape returns the middleware, installed first by the router, that
// marks each request under one of prefixes (e.g. "/v1", from the group
// table) so that every error it gets, core's included (401, 429, 404, 501,
// 503, ...), takes OpenAI's shape. The prefixes are handed to the router
// that serves them: no process-wide state, so two services in one process
// may differ.
func OpenAIShape(prefixes []string) gin.HandlerFunc {
	p := slices.Clone(prefixes)
	return func(c *gin.Context) {
		if UnderPrefix(c.Request.URL.Path, p) {
			c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), openAIKey{}, true))
		}
		c.Next()
	}
}

// UnderPrefix reports whether path is one of prefixes or below one.
func UnderPrefix(path string, prefixes []string) bool {
	for _, pre := range prefixes {
		if path == pre || (strings.HasPrefix(path, pre) && path[len(pre)] == '/') {
			return true
		}
	}
	return false
}

// IsOpenAI reports whether errors of this request take OpenAI's shape.
func IsOpenAI(r *http.Request) bool {
	on, _ := r.Context().Value(openAIKey{}).(bool)
	return on
}

// OpenAIType is the error type OpenAI's API gives a status.
func OpenAIType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// OpenAIError writes an OpenAI-shaped error; param may be "" (null).
func OpenAIError(w http.ResponseWriter, status int, code, param, message string) {
	d := OpenAIDetail{Message: message, Type: OpenAIType(status), Code: code}
	if param != "" {
		d.Param = &param
	}
	writeValue(w, status, OpenAIBody{Error: d})
}

// Param is the offending field, "" when none.
func (b OpenAIBody) Param() string {
	if b.Error.Param == nil {
		return ""
	}
	return *b.Error.Param
}
