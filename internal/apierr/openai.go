package apierr

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"
)

// OpenAIBody is the error envelope of OpenAI's API,
// {"error":{"message","type","param","code"}}; the OpenAI SDKs map the
// status to an exception class and read these fields.
type OpenAIBody struct {
	Error OpenAIDetail `json:"error"`
}

// OpenAIDetail is the error itself. Param names the offending request field
// (null when none).
type OpenAIDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// openAIPrefixes are the URL prefixes whose errors, core's included (401,
// 429, 404, 501, 503, ...), take OpenAI's shape. Set once, before serving.
var openAIPrefixes atomic.Pointer[[]string]

// SetOpenAIPrefixes declares the prefixes (e.g. "/v1") that answer errors in
// OpenAI's shape. The router calls it at construction from the group table.
func SetOpenAIPrefixes(prefixes ...string) {
	p := append([]string(nil), prefixes...)
	openAIPrefixes.Store(&p)
}

// IsOpenAIPath reports whether errors on path take OpenAI's shape.
func IsOpenAIPath(path string) bool {
	p := openAIPrefixes.Load()
	if p == nil {
		return false
	}
	for _, pre := range *p {
		if path == pre || (strings.HasPrefix(path, pre) && path[len(pre)] == '/') {
			return true
		}
	}
	return false
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

// AbortOpenAI writes an OpenAI-shaped error; param may be "" (null).
func AbortOpenAI(c *gin.Context, status int, code, param, message string) {
	d := OpenAIDetail{Message: message, Type: OpenAIType(status), Code: code}
	if param != "" {
		d.Param = &param
	}
	c.AbortWithStatusJSON(status, OpenAIBody{Error: d})
}

// Param is the offending field, "" when none.
func (b OpenAIBody) Param() string {
	if b.Error.Param == nil {
		return ""
	}
	return *b.Error.Param
}
