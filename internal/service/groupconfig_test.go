package service

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

func TestGroupOnlySettingNeedsItsGroup(t *testing.T) {
	cfg, err := config.Load(nil, func(k string) (string, bool) {
		if k == "REGISTRY_FILE" {
			return "/etc/advanced-backend/registry.yaml", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err = New(cfg, logger, map[string]capability.Feature{"llm": &slowGroup{}}, capability.BuildFacts{})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "REGISTRY_FILE" ||
		!strings.Contains(err.Error(), "needs the optional group, which is not linked into the hybrid variant") {
		t.Fatalf("want a config error naming REGISTRY_FILE, optional and hybrid; got %v", err)
	}
	// With the group linked the setting is accepted (the group reads it in Start).
	if _, err := New(cfg, logger, map[string]capability.Feature{"optional": &slowGroup{}}, capability.BuildFacts{}); err != nil {
		t.Fatalf("optional linked: %v", err)
	}
}

func TestMinimalModeSaysGroupSettingIsNotLoaded(t *testing.T) {
	env := map[string]string{"REGISTRY_FILE": "/etc/advanced-backend/registry.yaml", "MINIMAL_MODE": "1"}
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		map[string]capability.Feature{"optional": &slowGroup{}}, capability.BuildFacts{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, e := range svc.Phase().Last(200) {
		if e.Level == "warn" && strings.Contains(e.Msg, "REGISTRY_FILE is set but MINIMAL_MODE") {
			return
		}
	}
	t.Fatalf("no warning that REGISTRY_FILE is not loaded: %+v", svc.Phase().Last(200))
}
