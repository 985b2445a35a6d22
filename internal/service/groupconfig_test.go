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
