// Package apierr writes the service's JSON answers and its JSON error body,
// {"error":{"code":"...","message":"..."}}, which every route uses (OpenAI's
// shape under the prefixes core marks, see OpenAIShape).
//
// Each helper has a net/http form, taking the http.ResponseWriter and the
// *http.Request (Error, WriteJSON, WriteFiniteJSON, ReadJSON, ReadAll,
// BodyFailure, OpenAIError): the groups' handlers are plain net/http
// handlers and use these. Core's gin middleware and handlers use the gin
// forms (Abort, JSON, DecodeJSON, AbortBodyRead, AbortOpenAI), thin wrappers
// over the same code that also stop gin's handler chain.
package apierr

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Body is the error envelope.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the error itself.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error writes the error. Under an OpenAI prefix (OpenAIShape marked the
// request) the error takes OpenAI's shape instead.
func Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if IsOpenAI(r) {
		OpenAIError(w, status, code, "", message)
		return
	}
	writeValue(w, status, Body{Error: Detail{Code: code, Message: message}})
}

// Abort is Error for core's gin handlers: it also stops the handler chain.
//
// It is kept out of line, like the other gin forms (AbortBodyRead,
// DecodeJSON, JSON): inlined, each of their ~50 call sites in core
// converted c.Writer from gin.ResponseWriter to http.ResponseWriter
// itself, with a cached itab lookup apiece (6 KB of every binary).
//
//go:noinline
func Abort(c *gin.Context, status int, code, message string) {
	c.Abort()
	Error(c.Writer, c.Request, status, code, message)
}

// contentType is what every JSON answer is sent as (gin's own, so core's
// and the groups' answers cannot differ).
const contentType = "application/json; charset=utf-8"

// writeValue writes v, which always marshals (the error envelopes).
func writeValue(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeBytes(w, status, b)
}

// writeBytes writes a JSON answer. Like gin's renderers it keeps a
// Content-Type the handler has set already.
func writeBytes(w http.ResponseWriter, status int, b []byte) {
	if h := w.Header(); len(h["Content-Type"]) == 0 {
		h["Content-Type"] = []string{contentType}
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
