package service

import (
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"testing"

	_ "github.com/advanced-backend/advanced-backend/features" // the link files: every group whose tag is given
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// TestInstancesAreFresh: two services in one process (as tests and
// examples run them) each get their own instance of every real group, and
// each sets up on its own: a group that kept state in its package (a
// shared value Setup writes into, a global metric or route) would fail the
// second Setup or hand both services one instance. Run without every
// group's build tag, the test runs itself again with them all (the group
// packages are linked the way a binary links them: features/link_*.go).
func TestInstancesAreFresh(t *testing.T) {
	all := groupspec.GroupNames()
	if linked := capability.LinkedNames(); !slices.Equal(linked, all) {
		tags := strings.Join(append(groupspec.BaseTags(), all...), ",")
		cmd := exec.Command("go", "test", "-count=1", "-tags", tags, "-run", "^TestInstancesAreFresh$", "-v", ".")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestInstancesAreFresh") {
			t.Fatalf("with every group linked (-tags %s): %v\n%s", tags, err, out)
		}
		return
	}
	linkedInfo := capability.Linked()
	lk, unlinked, variant := capability.SettingsOptions(linkedInfo)
	cfg, err := config.LoadWith(config.Options{Linked: lk, Unlinked: unlinked, Variant: variant,
		LookupEnv: func(k string) (string, bool) {
			v, ok := map[string]string{"VECTOR_DATA_DIR": ":memory:"}[k]
			return v, ok
		}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var services [2]*Service
	var instances [2]map[string]groupapi.Feature
	for i := range services {
		instances[i] = capability.Instantiate(linkedInfo, cfg.Group)
		s, err := New(cfg, logger, instances[i], capability.BuildFacts{})
		if err != nil {
			t.Fatalf("service %d: %v", i, err)
		}
		t.Cleanup(s.Close)
		services[i] = s
	}
	for _, g := range all {
		a, b := instances[0][g], instances[1][g]
		if a == nil || a == b {
			t.Errorf("group %s: instances %p and %p: one shared value", g, a, b)
		}
		for i, s := range services {
			if st := s.rt.State(g); strings.Contains(st.Detail, "failed") {
				t.Errorf("group %s in service %d: %s", g, i, st.Detail)
			}
		}
	}
	t.Logf("groups checked: %v", all)
}
