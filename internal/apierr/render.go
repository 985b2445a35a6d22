package apierr

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// WriteJSON is how every handler answers a JSON body: it marshals first and
// writes only what marshalled, so no route answers 2xx with a body it
// failed to write. A value that does not marshal (NaN, ±Inf, a channel)
// becomes a 500 `render_failed` error, and the failure is handed to the
// request's render report (WithRenderReport) for the router to log.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := writeJSON(w, r, status, v); err != nil {
		if report, ok := r.Context().Value(renderKey{}).(func(error)); ok {
			report(err)
		}
	}
}

// JSON is WriteJSON for core's gin handlers: the failure is recorded on the
// context (gin.ErrorTypeRender) and the chain stopped.
//
// Kept out of line, as Abort is.
//
//go:noinline
func JSON(c *gin.Context, status int, v any) {
	if err := writeJSON(c.Writer, c.Request, status, v); err != nil {
		c.Abort()
		_ = c.Error(err).SetType(gin.ErrorTypeRender)
	}
}

// writeJSON answers v, or render_failed and the marshal error.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		Error(w, r, http.StatusInternalServerError, "render_failed", "the answer could not be encoded as JSON")
		return fmt.Errorf("render %T: %w", v, err)
	}
	writeBytes(w, status, b)
	return nil
}

// renderKey holds, in a request's context, where WriteJSON reports a value
// that did not marshal.
type renderKey struct{}

// WithRenderReport returns ctx with report as the place WriteJSON hands a
// render failure to: core's router installs it for the groups' routes and
// logs what it receives, as it does for its own routes.
func WithRenderReport(ctx context.Context, report func(error)) context.Context {
	return context.WithValue(ctx, renderKey{}, report)
}

// WriteFiniteJSON answers v like WriteJSON when every number in it is
// finite, and a 422 `non_finite_result` naming the first NaN or ±Inf
// otherwise: finite inputs can overflow (a variance of 1.7e308s, a dot
// product of 3e38s), and JSON has no way to say the result.
func WriteFiniteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if path, x, ok := NonFinite(v); ok {
		Error(w, r, http.StatusUnprocessableEntity, "non_finite_result",
			fmt.Sprintf("the result is not a finite number (%s is %v): the input overflows float64 arithmetic; scale it down", path, x))
		return
	}
	WriteJSON(w, r, status, v)
}

// NonFinite finds the first NaN or ±Inf in v (structs, maps, slices,
// arrays, pointers, interfaces) and returns its JSON-ish path.
func NonFinite(v any) (path string, x float64, found bool) {
	return nonFinite(reflect.ValueOf(v), "result", 0)
}

// maxDepth stops the walk on cyclic or absurdly deep values (which json
// would refuse anyway).
const maxDepth = 64

func nonFinite(v reflect.Value, path string, depth int) (string, float64, bool) {
	if !v.IsValid() || depth > maxDepth {
		return "", 0, false
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path, f, true
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nonFinite(v.Elem(), path, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return "", 0, false // []byte is base64
		}
		for i := 0; i < v.Len(); i++ {
			if p, f, ok := nonFinite(v.Index(i), path+"["+strconv.Itoa(i)+"]", depth+1); ok {
				return p, f, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if p, f, ok := nonFinite(it.Value(), path+"."+fmt.Sprint(it.Key().Interface()), depth+1); ok {
				return p, f, true
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name := sf.Name
			if tag := sf.Tag.Get("json"); tag == "-" {
				continue
			} else if n, _, _ := strings.Cut(tag, ","); n != "" {
				name = n
			}
			if p, f, ok := nonFinite(v.Field(i), path+"."+name, depth+1); ok {
				return p, f, true
			}
		}
	}
	return "", 0, false
}
