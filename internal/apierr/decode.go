package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/bodymem"
)

// ReadJSON decodes the request body strictly into v: unknown fields,
// trailing data and type mismatches are 400 with the field named, a body over
// the limit set by the body-size middleware is 413. On failure it has
// already written the error; the caller just returns.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeJSON(r.Body, v); err != nil {
		if BodyFailure(w, r, err) {
			return false
		}
		Error(w, r, http.StatusBadRequest, "bad_json", err.Error())
		return false
	}
	return true
}

// DecodeJSON is ReadJSON for core's gin handlers: on failure it also stops
// the chain.
//
// Kept out of line, as Abort is.
//
//go:noinline
func DecodeJSON(c *gin.Context, v any) bool {
	if !ReadJSON(c.Writer, c.Request, v) {
		c.Abort()
		return false
	}
	return true
}

func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describe(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if isBodyFailure(err) {
			return err
		}
		return errors.New("malformed JSON: unexpected data after the JSON value")
	}
	return nil
}

// isBodyFailure reports errors of the body itself (size, time, memory),
// which AbortBodyRead answers, as opposed to malformed JSON.
func isBodyFailure(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, bodymem.ErrExhausted)
}

// describe turns encoding/json errors into messages a client can act on.
func describe(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case isBodyFailure(err):
		return err
	case errors.Is(err, io.EOF):
		return errors.New("malformed JSON: empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: body ends early")
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("field %s: want %s, got JSON %s", field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

// LimitBody caps every request body at limit bytes; DecodeJSON (and any
// reader of the body) then sees *http.MaxBytesError, answered with 413.
func LimitBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			Abort(c, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("request body exceeds %d bytes", limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}
