package apierr

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// JSON is how every handler answers a JSON body: it marshals first and
// writes only what marshalled, so no route answers 2xx with a body it
// failed to write. A value that does not marshal (NaN, ±Inf, a channel)
// becomes a 500 `render_failed` error, and the failure is recorded on the
// context (gin.ErrorTypeRender) for the router to log.
func JSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		_ = c.Error(fmt.Errorf("render %T: %w", v, err)).SetType(gin.ErrorTypeRender)
		Abort(c, http.StatusInternalServerError, "render_failed", "the answer could not be encoded as JSON")
		return
	}
	c.Data(status, "application/json; charset=utf-8", b)
}

// FiniteJSON answers v like JSON when every number in it is finite, and a
// 422 `non_finite_result` naming the first NaN or ±Inf otherwise: finite
// inputs can overflow (a variance of 1.7e308s, a dot product of 3e38s), and
// JSON has no way to say the result.
func FiniteJSON(c *gin.Context, status int, v any) {
	if path, x, ok := NonFinite(v); ok {
		Abort(c, http.StatusUnprocessableEntity, "non_finite_result",
			fmt.Sprintf("the result is not a finite number (%s is %v): the input overflows float64 arithmetic; scale it down", path, x))
		return
	}
	JSON(c, status, v)
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
