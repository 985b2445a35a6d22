package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// nanGroup (registered as ml) renders a NaN through apierr.WriteJSON, the
// way every group answers JSON.
type nanGroup struct{}

func (nanGroup) Setup(h *groupapi.Host) error {
	h.Routes.Handle("GET", "/api/v2/ml/nan", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierr.WriteJSON(w, r, 200, map[string]any{"x": math.NaN()})
	}))
	h.Routes.Handle("GET", "/api/v2/ml/inf", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierr.WriteJSON(w, r, 200, map[string]any{"x": math.Inf(1)})
	}))
	return nil
}
func (nanGroup) Start(context.Context) error { return nil }
func (nanGroup) Stop(context.Context) error  { return nil }
func (nanGroup) Status() groupapi.Status     { return groupapi.Status{Ready: true} }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestNoEmpty200WhenRenderFails: a group's body that does not marshal is
// a logged 500 JSON error, never 200 with 0 bytes.
func TestNoEmpty200WhenRenderFails(t *testing.T) {
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "gonum.org/v1/gonum", Version: "v0.17.0"}}}
	rt := lifecycle.New(map[string]groupapi.Feature{"ml": nanGroup{}}, capability.FactsFrom(bi), false)
	var logs syncBuf
	s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Phase: phase.New(nil),
		Groups: rt, Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, path := range []string{"/api/v2/ml/nan", "/api/v2/ml/inf"} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"render_failed"`) {
			t.Errorf("%s: %d %q", path, w.Code, w.Body.String())
		}
	}
	if n := strings.Count(logs.String(), `msg="answer not rendered"`); n != 2 {
		t.Errorf("%d render failures logged, want 2:\n%s", n, logs.String())
	}
}
