package service

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// loadFor parses env the way main does for a binary linking exactly linked.
func loadFor(env map[string]string, linked map[string]capability.GroupInfo) (*config.Config, error) {
	lk, unlinked, variant := capability.SettingsOptions(linked)
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return config.LoadWith(config.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ: environ, Linked: lk, Unlinked: unlinked, Variant: variant})
}

func slowInfo(name string, settings ...config.Setting) capability.GroupInfo {
	return capability.GroupInfo{Name: name, New: func(config.Values) groupapi.Feature { return &slowGroup{} }, Settings: settings}
}

// TestUnlinkedGroupSettingIsReported: a setting of a group this binary does
// not link is logged naming it, its group and the variant, listed in
// /__phase, and refused under STRICT_SETTINGS; the same way for each group.
func TestUnlinkedGroupSettingIsReported(t *testing.T) {
	hybrid := map[string]capability.GroupInfo{"llm": slowInfo("llm")}
	for name, group := range map[string]string{"REGISTRY_FILE": "optional", "QDRANT_URL": "vector", "ML_MAX_SERIES": "ml"} {
		env := map[string]string{name: "/etc/advanced-backend/x"}
		cfg, err := loadFor(env, hybrid)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), capability.Instantiate(hybrid, cfg.Group), capability.BuildFacts{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range svc.Phase().Last(200) {
			found = found || (e.Level == "warn" && strings.Contains(e.Msg, name+" is ignored: it belongs to the "+group+" group, which is not linked into the hybrid variant"))
		}
		if !found {
			t.Errorf("%s: no warning: %+v", name, svc.Phase().Last(200))
		}
		w := httptest.NewRecorder()
		svc.Server().Handler().ServeHTTP(w, httptest.NewRequest("GET", "/__phase", nil))
		var ph struct {
			Ignored []map[string]string `json:"ignored_settings"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &ph); err != nil || len(ph.Ignored) != 1 || ph.Ignored[0]["name"] != name || ph.Ignored[0]["group"] != group {
			t.Errorf("%s: /__phase %s", name, w.Body.String())
		}
		if strings.Contains(w.Body.String(), "/etc/advanced-backend/x") {
			t.Errorf("%s: value shown in /__phase", name)
		}
		svc.Close()

		env["STRICT_SETTINGS"] = "1"
		_, err = loadFor(env, hybrid)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != name || !strings.Contains(err.Error(), group) {
			t.Errorf("%s strict: %v", name, err)
		}
	}
	// With the group linked the setting is its own and nothing is ignored.
	cfg, err := loadFor(map[string]string{"REGISTRY_FILE": "/x", "STRICT_SETTINGS": "1"},
		map[string]capability.GroupInfo{"optional": slowInfo("optional", config.String("REGISTRY_FILE", "", "file"))})
	if err != nil || len(cfg.Ignored) != 0 || cfg.Group("optional").String("REGISTRY_FILE") != "/x" {
		t.Fatalf("optional linked: %v %+v", err, cfg)
	}
}

func TestMinimalModeSaysGroupSettingIsNotLoaded(t *testing.T) {
	env := map[string]string{"REGISTRY_FILE": "/etc/advanced-backend/registry.yaml", "MINIMAL_MODE": "1"}
	linked := map[string]capability.GroupInfo{"optional": slowInfo("optional", config.String("REGISTRY_FILE", "", "file"))}
	cfg, err := loadFor(env, linked)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), capability.Instantiate(linked, cfg.Group), capability.BuildFacts{})
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
