// Package grouptest serves one group's capability.Feature over loopback on
// the real gin stack, mounted the way core mounts it (body limits with the
// group's per-route exceptions, a router of its own), for the group
// packages' tests. Tests only.
package grouptest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
)

// Mount sets h.Router (with mw in front of the group's routes) and
// h.BodyLimits, runs Setup, and serves the engine until the test ends. It
// returns the server's base URL.
func Mount(t testing.TB, f capability.Feature, h *capability.Host, mw ...gin.HandlerFunc) string {
	t.Helper()
	e := gin.New()
	// as core does: X-Forwarded-For only from TRUSTED_PROXIES (gin trusts
	// every peer by default)
	if err := e.SetTrustedProxies(h.Config.Auth.TrustedProxies); err != nil {
		t.Fatalf("trusted proxies: %v", err)
	}
	limits := &apierr.RouteLimits{}
	e.Use(apierr.LimitBodyRoutes(h.Config.MaxBodyBytes, limits))
	h.Router, h.BodyLimits = e.Group("", mw...), limits
	if err := f.Setup(h); err != nil {
		t.Fatalf("setup: %v", err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Start runs the feature's Start and stops it when the test ends.
func Start(t testing.TB, f capability.Feature) {
	t.Helper()
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
}
