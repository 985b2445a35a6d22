package apierr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestDecodeJSON(t *testing.T) {
	type req struct {
		Name  string    `json:"name"`
		Count int       `json:"count"`
		Vals  []float64 `json:"vals"`
	}
	e := gin.New()
	e.POST("/", LimitBody(64), func(c *gin.Context) {
		var r req
		if !DecodeJSON(c, &r) {
			return
		}
		c.JSON(200, r)
	})
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"a","count":2}`, 200, ""},
		{`{"name":"a",`, 400, "ends early"},
		{``, 400, "empty body"},
		{`{"name":1}`, 400, "field name"},
		{`{"count":"x"}`, 400, "field count"},
		{`{"other":1}`, 400, `unknown field "other"`},
		{`{"name":"a"} {}`, 400, "after the JSON value"},
		{`{"name":"a"}x`, 400, "after the JSON value"},
		{`{nope}`, 400, "malformed JSON at byte"},
		{`{"vals":[` + strings.Repeat("1,", 40) + `1]}`, 413, "exceeds 64 bytes"},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		if tc.status == 413 {
			r.ContentLength = -1 // exercise the streaming limit, not the header check
		}
		e.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("%q: %d %s", tc.body, w.Code, w.Body)
			continue
		}
		if tc.want != "" {
			var b Body
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || !strings.Contains(b.Error.Message, tc.want) {
				t.Errorf("%q: %s, want %q", tc.body, w.Body, tc.want)
			}
		}
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 100))))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared length over limit: %d", w.Code)
	}
}

func TestLimitBodyRoutes(t *testing.T) {
	var routes RouteLimits
	routes.Set("POST", "/big/:id", 200)
	e := gin.New()
	e.Use(LimitBodyRoutes(64, &routes))
	read := func(c *gin.Context) {
		var r struct {
			S string `json:"s"`
		}
		if !DecodeJSON(c, &r) {
			return
		}
		c.JSON(200, gin.H{"n": len(r.S)})
	}
	e.POST("/big/:id", read)
	e.POST("/small", read)
	body := `{"s":"` + strings.Repeat("x", 100) + `"}` // 108 bytes
	for _, tc := range []struct {
		path    string
		chunked bool
		status  int
	}{
		{"/big/1", false, 200}, {"/big/1", true, 200},
		{"/small", false, 413}, {"/small", true, 413},
	} {
		r := httptest.NewRequest("POST", tc.path, strings.NewReader(body))
		if tc.chunked {
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("%s chunked=%v: %d %s", tc.path, tc.chunked, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest("POST", "/big/2", strings.NewReader(`{"s":"`+strings.Repeat("x", 300)+`"}`))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "exceeds 200 bytes") {
		t.Fatalf("route limit not enforced: %d %s", w.Code, w.Body)
	}
}
