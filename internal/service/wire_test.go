package service

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// greedy asks in Setup for a service it never declared (it stands in for
// vector, which does not read latency whether or not its package is linked
// into the test).
type greedy struct{}

func (greedy) Setup(h *groupapi.Host) error {
	_, err := groupapi.SourceOf(h.Services, capability.LatencyKey)
	return err
}
func (greedy) Start(context.Context) error { return nil }
func (greedy) Stop(context.Context) error  { return nil }
func (greedy) Status() groupapi.Status     { return groupapi.Status{Ready: true} }

// TestWiringReports: the composition root builds core's parts, provides
// core's services (latency, cluster member, rate-limit overrides,
// switches), sets each group up on its host and reports what it did in the
// phase log: the estimator, a group whose Setup failed (and the runtime
// marks it), per-route overrides in force.
func TestWiringReports(t *testing.T) {
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), map[string]groupapi.Feature{"vector": greedy{}}, capability.BuildFacts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	s := svc.services
	_, lat := s.Latency.Get()
	_, mem := s.ClusterMember.Get()
	ov, hasOv := s.RateLimitOverrides.Get()
	_, sw := s.Switches.Get()
	if !lat || !mem || !hasOv || !sw {
		t.Fatalf("core services provided: latency %v member %v overrides %v switches %v", lat, mem, hasOv, sw)
	}
	ov.SetOverrides(map[string]groupapi.RateOverride{"GET /api/v2/vector/ok": {RPS: 1, Burst: 1}})
	events := svc.Phase().Last(200)
	for _, want := range []struct{ level, msg string }{
		{"info", "LATENCY: estimator "},
		{"error", "GROUP vector: setup failed: capability: group vector reads service latency without declaring it in GroupInfo.Uses.Reads"},
		{"info", "RATELIMIT: 1 per-route overrides in force"},
	} {
		if !slices.ContainsFunc(events, func(e phase.Event) bool { return e.Level == want.level && strings.Contains(e.Msg, want.msg) }) {
			t.Errorf("phase log lacks %s %q: %+v", want.level, want.msg, events)
		}
	}
	if st := svc.rt.State("vector"); !strings.Contains(st.Detail, "setup") {
		t.Errorf("vector: %+v", st)
	}
}
