package httpapi

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

func TestGinPath(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b":                  "/a/b",
		"/c/{name}":             "/c/:name",
		"/c/{name}/points/{id}": "/c/:name/points/:id",
		"/m/{id...}":            "/m/*id",
	} {
		if got, err := ginPath(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"a", "/c/{}", "/c/x{n}", "/c/{n}x", "/m/{id...}/x", "/c/{$}", "/c/:n", "/c/*n", "/c/{a-b}"} {
		if got, err := ginPath(bad); err == nil {
			t.Errorf("%s: accepted as %q", bad, got)
		}
	}
}

// TestGroupRoutes: path values, the admin guard, the per-route body limit
// and the render report reach a group's net/http handler as core serves it.
func TestGroupRoutes(t *testing.T) {
	e := gin.New()
	var limits apierr.RouteLimits
	var rendered []string
	e.Use(apierr.LimitBodyRoutes(8, &limits), func(c *gin.Context) {
		c.Next()
		for _, err := range c.Errors.ByType(gin.ErrorTypeRender) {
			rendered = append(rendered, err.Error())
		}
	})
	r := GroupRoutes(e.Group(""), auth.TokenGuard("s3cret"), &limits)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := apierr.ReadAll(w, r)
		if !ok {
			return
		}
		apierr.WriteJSON(w, r, 200, map[string]string{"name": r.PathValue("name"), "id": r.PathValue("id"), "body": string(b)})
	})
	r.Handle("POST", "/c/{name}/p/{id}", echo)
	r.Handle("POST", "/big/{id...}", echo, groupapi.MaxBodyBytes(32))
	r.Handle("GET", "/admin", echo, groupapi.AdminOnly)
	r.Handle("GET", "/nan", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apierr.WriteJSON(w, r, 200, math.NaN()) }))
	for _, tc := range []struct {
		method, path, body, token string
		status                    int
		want                      string
	}{
		{"POST", "/c/a/p/7", "hi", "", 200, `{"body":"hi","id":"7","name":"a"}`},
		{"POST", "/c/a/p/7", strings.Repeat("x", 20), "", 413, "exceeds 8 bytes"},
		{"POST", "/big/x/y", strings.Repeat("x", 20), "", 200, `"id":"x/y"`},
		{"GET", "/admin", "", "", 401, ""},
		{"GET", "/admin", "", "s3cret", 200, ""},
		{"GET", "/nan", "", "", 500, "render_failed"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.token != "" {
			req.Header.Set("X-Admin-Token", tc.token)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, w.Code, w.Body)
		}
	}
	if len(rendered) != 1 {
		t.Errorf("render failures recorded: %v", rendered)
	}
}

func TestGroupMetricsRefusesNonCollectors(t *testing.T) {
	m := GroupMetrics(prometheus.NewRegistry())
	if err := m.Register("not a collector"); err == nil || !strings.Contains(err.Error(), "not a Prometheus collector") {
		t.Fatalf("non-collector: %v", err)
	}
	if err := m.Register(prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})); err != nil {
		t.Fatal(err)
	}
}
