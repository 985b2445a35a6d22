package apierr

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func render(t *testing.T, h gin.HandlerFunc) (*httptest.ResponseRecorder, *gin.Context) {
	t.Helper()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest("GET", "/", nil)
	h(c)
	return w, c
}

func decode(t *testing.T, w *httptest.ResponseRecorder) Detail {
	t.Helper()
	var b Body
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("not a JSON error: %d %q", w.Code, w.Body.String())
	}
	return b.Error
}

func TestJSONWritesWhatMarshalled(t *testing.T) {
	w, c := render(t, func(c *gin.Context) { JSON(c, 201, map[string]any{"a": 1.5}) })
	if w.Code != 201 || w.Body.String() != `{"a":1.5}` || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") || len(c.Errors) != 0 {
		t.Fatalf("%d %q %v", w.Code, w.Body.String(), c.Errors)
	}
}

// TestJSONRenderFailureIs500: a value that does not marshal is a 500 JSON
// error, never the promised status with an empty body, and the failure is
// recorded for the router's log.
func TestJSONRenderFailureIs500(t *testing.T) {
	for name, v := range map[string]any{"NaN": map[string]float64{"x": math.NaN()}, "Inf": []float64{math.Inf(1)}, "chan": make(chan int)} {
		w, c := render(t, func(c *gin.Context) { JSON(c, http.StatusOK, v) })
		if d := decode(t, w); w.Code != 500 || d.Code != "render_failed" {
			t.Errorf("%s: %d %+v", name, w.Code, d)
		}
		if len(c.Errors.ByType(gin.ErrorTypeRender)) != 1 {
			t.Errorf("%s: render error not recorded: %v", name, c.Errors)
		}
	}
}

func TestFiniteJSON(t *testing.T) {
	type inner struct {
		Score float32 `json:"score"`
		Skip  float64 `json:"-"`
	}
	type outer struct {
		Hits  []inner            `json:"hits"`
		Stats map[string]float64 `json:"stats,omitempty"`
		P     *float64
	}
	inf := math.Inf(-1)
	for _, tc := range []struct {
		v    any
		path string
	}{
		{outer{Hits: []inner{{Score: 1}, {Score: float32(math.Inf(1))}}}, "result.hits[1].score"},
		{outer{Stats: map[string]float64{"mean": math.NaN()}}, "result.stats.mean"},
		{outer{P: &inf}, "result.P"},
		{[]any{1.0, map[string]any{"k": []float64{2, math.NaN()}}}, "result[1].k[1]"},
	} {
		w, _ := render(t, func(c *gin.Context) { WriteFiniteJSON(c.Writer, c.Request, 200, tc.v) })
		d := decode(t, w)
		if w.Code != 422 || d.Code != "non_finite_result" || !strings.Contains(d.Message, tc.path) {
			t.Errorf("%v: %d %+v, want 422 naming %s", tc.v, w.Code, d, tc.path)
		}
	}
	// Skipped fields and finite values pass.
	w, _ := render(t, func(c *gin.Context) {
		WriteFiniteJSON(c.Writer, c.Request, 200, outer{Hits: []inner{{Score: 2, Skip: math.NaN()}}, Stats: map[string]float64{"m": 1}})
	})
	if w.Code != 200 {
		t.Fatalf("finite: %d %s", w.Code, w.Body.String())
	}
}

// TestWriteJSONReportsRenderFailure: the net/http form answers the same
// 500 and hands the failure to the report core installs on the request.
func TestWriteJSONReportsRenderFailure(t *testing.T) {
	var got []error
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(WithRenderReport(r.Context(), func(err error) { got = append(got, err) }))
	w := httptest.NewRecorder()
	WriteJSON(w, r, 200, math.NaN())
	if d := decode(t, w); w.Code != 500 || d.Code != "render_failed" || len(got) != 1 {
		t.Fatalf("%d %+v, reported %v", w.Code, d, got)
	}
	w = httptest.NewRecorder()
	WriteJSON(w, httptest.NewRequest("GET", "/", nil), 200, math.NaN()) // no report installed: still a 500
	if w.Code != 500 {
		t.Fatalf("without a report: %d", w.Code)
	}
}

// TestErrorTakesOpenAIShapeWhenMarked: OpenAIShape marks the request's
// context; the net/http form reads the mark.
func TestErrorTakesOpenAIShapeWhenMarked(t *testing.T) {
	e := gin.New()
	e.Use(OpenAIShape([]string{"/v1"}))
	e.Any("/*p", func(c *gin.Context) { Error(c.Writer, c.Request, 404, "nope", "no") })
	for path, openAI := range map[string]bool{"/v1/x": true, "/v1": true, "/v1x": false, "/api": false} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := strings.Contains(w.Body.String(), `"type":"not_found_error"`); got != openAI || w.Code != 404 {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}
