// Package grouptest serves one group's groupapi.Feature over loopback on
// the real gin stack, mounted the way core mounts it (body limits with the
// group's per-route exceptions, the admin guard, the groups' net/http
// handlers through core's groupapi.Router), for the group packages' tests.
// Tests only.
package grouptest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/httpapi"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/internal/service"
)

// Config parses core settings and the group's own from env the way a
// process that links the group does.
func Config(t testing.TB, group string, settings []config.Setting, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.LoadWith(config.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Linked:    []config.GroupSettings{{Group: group, Settings: settings}},
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// Host returns the Host core would give the group under cfg (the group's
// own settings are bound by its constructor, with cfg.Group(group)): fresh
// services, of which the group sees what its registration declares (the
// group's package is linked into its own tests), a discarding logger, a
// phase log and a fresh metrics registry of its own. It also returns the
// whole services, core's side, for the test to provide and inspect. Mount
// sets the routes.
func Host(cfg *config.Config, group string) (*groupapi.Host, *groupapi.Services) {
	all := &groupapi.Services{}
	return &groupapi.Host{Core: service.CoreOf(cfg),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Phase: phase.New(nil),
		Metrics:  Metrics(prometheus.NewRegistry()),
		Services: capability.UsesOf(group).View(all, group)}, all
}

// Metrics is the groupapi.Metrics core gives a group, over reg (for a test
// that gathers what the group registered).
func Metrics(reg prometheus.Registerer) groupapi.Metrics { return httpapi.GroupMetrics(reg) }

// Option changes how Mount serves the group.
type Option func(*mount)

type mount struct{ admin gin.HandlerFunc }

// Admin is the guard of the group's admin-only routes. Without it they
// answer 403 to everyone.
func Admin(guard gin.HandlerFunc) Option { return func(m *mount) { m.admin = guard } }

// Mount sets h.Routes, runs Setup, and serves the routes until the test
// ends. It returns the server's base URL.
func Mount(t testing.TB, f groupapi.Feature, h *groupapi.Host, opts ...Option) string {
	t.Helper()
	m := mount{admin: func(c *gin.Context) {
		apierr.Abort(c, http.StatusForbidden, "forbidden", "admin only (grouptest: no admin guard given)")
	}}
	for _, o := range opts {
		o(&m)
	}
	e := gin.New()
	// as core does without TRUSTED_PROXIES: no X-Forwarded-For is believed
	// (gin trusts every peer by default)
	if err := e.SetTrustedProxies(nil); err != nil {
		t.Fatalf("trusted proxies: %v", err)
	}
	limits := &apierr.RouteLimits{}
	maxBody := h.Core.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	e.Use(apierr.LimitBodyRoutes(maxBody, limits))
	h.Routes = httpapi.GroupRoutes(e.Group(""), m.admin, limits)
	if err := f.Setup(h); err != nil {
		t.Fatalf("setup: %v", err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Start runs the feature's Start and stops it when the test ends.
func Start(t testing.TB, f groupapi.Feature) {
	t.Helper()
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
}
