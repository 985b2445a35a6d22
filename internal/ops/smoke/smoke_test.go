package smoke

import (
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

func TestGroupCases(t *testing.T) {
	opt, _ := groupspec.LookupGroup("optional") // two route prefixes
	for _, tc := range []struct {
		linked, enabled bool
		status          int
		code            string
	}{{false, false, 501, "group_not_linked"}, {true, false, 503, "group_disabled"}, {true, true, 404, "not_found"}} {
		cs := GroupCases(opt, tc.linked, tc.enabled)
		if len(cs) < len(opt.RoutePrefixes) {
			t.Fatalf("%d cases for %d prefixes", len(cs), len(opt.RoutePrefixes))
		}
		for i, p := range opt.RoutePrefixes {
			c := cs[i]
			if c.Status != tc.status || c.ErrorCode != tc.code || c.Path != p+"/smoke-probe" {
				t.Errorf("linked=%v enabled=%v: %+v", tc.linked, tc.enabled, c)
			}
		}
	}
}

func TestCoreCasesNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range CoreCases() {
		if seen[c.Name] {
			t.Errorf("duplicate case %s", c.Name)
		}
		seen[c.Name] = true
	}
}

// TestSeedShape: smoke refuses the shapes that broke seed clients (a
// count for the tracked endpoints, modes nested, seed keys missing).
func TestSeedShape(t *testing.T) {
	heavy := map[string]any{"torch": false, "sklearn": true, "langchain": false, "openai": true, "anthropic": true, "tensorflow": false}
	good := map[string]any{"minimal_mode": false, "safe_mode": false, "include_tensorflow_flag": nil,
		"heavy_dependencies": heavy, "tdigest_fallback": false, "tdigest_tracked_endpoints": []any{"GET /health"}}
	if err := seedShape(seedCapabilities)(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]any{}
	for k, v := range good {
		bad[k] = v
	}
	bad["tdigest_tracked_endpoints"] = 3.0
	if err := seedShape(seedCapabilities)(bad); err == nil || !strings.Contains(err.Error(), "tdigest_tracked_endpoints") {
		t.Fatalf("a count accepted: %v", err)
	}
	bad["tdigest_tracked_endpoints"] = []any{}
	bad["heavy_dependencies"] = map[string]any{"openai": true}
	if err := seedShape(seedCapabilities)(bad); err == nil || !strings.Contains(err.Error(), "torch") {
		t.Fatalf("missing seed keys accepted: %v", err)
	}
	hb := map[string]any{"events": []any{}, "uptime_seconds": 1.0, "modes": map[string]any{"minimal_mode": false, "safe_mode": false}}
	if err := seedShape(seedHeartbeat)(hb); err == nil {
		t.Fatal("a heartbeat without count and top-level modes accepted")
	}
}
