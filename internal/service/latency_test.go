package service

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// Run's shutdown stops the latency engine's ingestion goroutine.
func TestRunStopsLatencyEngine(t *testing.T) {
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), map[string]groupapi.Feature{}, capability.BuildFacts{})
	if err != nil {
		t.Fatal(err)
	}
	r := runOnLoopback(t, svc)
	getJSON(t, r.base+"/health")
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	select {
	case <-svc.Server().Latency().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("latency ingestion still running after Run returned")
	}
	if svc.Server().Latency().Ingested() < 1 {
		t.Fatal("the /health request was not ingested")
	}
}
