package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// TestAddingAGroup proves BUILD.md's "Adding a group": a throwaway group
// (e2e/testdata/newgroup) is laid over the tree with `go build -overlay` as
// exactly one table row in internal/groupspec, its package under features/
// and one link file, and nothing else. Built with its tag it registers,
// reports, serves, has its settings parsed and reads the core service it
// declares (the latency engine); built without it, its
// routes answer 501 and its settings are reported as ignored.
func TestAddingAGroup(t *testing.T) {
	dir := t.TempDir()
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	root := abs(repoRoot) // overlay paths are absolute
	table := filepath.Join(root, "internal", "groupspec", "groupspec.go")
	src, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "\t// new groups: one row above this line\n"
	row, err := os.ReadFile(filepath.Join("testdata", "newgroup", "row.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(src), marker) != 1 {
		t.Fatalf("%s lacks the marker %q", table, marker)
	}
	newTable := filepath.Join(dir, "groupspec.go")
	if err := os.WriteFile(newTable, []byte(strings.Replace(string(src), marker, string(row)+marker, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	replace := map[string]string{
		table: newTable,
		filepath.Join(root, "features", "demo", "demo.go"): abs(filepath.Join("testdata", "newgroup", "demo.go")),
		filepath.Join(root, "features", "link_demo.go"):    abs(filepath.Join("testdata", "newgroup", "link_demo.go.txt")),
	}
	edited := 0 // files that exist in the tree: only the table may be among them
	for p := range replace {
		if _, err := os.Stat(p); err == nil {
			edited++
			if p != table {
				t.Fatalf("the overlay edits %s", p)
			}
		}
	}
	if edited != 1 {
		t.Fatalf("the overlay edits %d existing files, want the table only", edited)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(name string, tags []string) string {
		out := filepath.Join(dir, name, "advanced-backend")
		cmd := exec.Command("go", "build", "-trimpath", "-overlay", overlayFile, "-tags", strings.Join(tags, ","), "-o", out, "./cmd/advanced-backend")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, b)
		}
		return out
	}
	base := groupspec.BaseTags()
	linked := build("linked", append(base, "demo"))
	unlinked := build("unlinked", base)

	// Linked: registers, reports, serves, settings parsed (env and flag).
	p := startBinary(t, linked, "DEMO_GREETING=hi")
	var caps capsReport
	// bounded wait for readiness; the checks below say what is wrong if it never comes
	_, _ = waitfor.Poll(10*time.Second, func() (struct{}, bool) {
		if code := p.get(t, "GET", "/ml-capabilities", &caps); code != 200 {
			t.Fatalf("/ml-capabilities %d", code)
		}
		return struct{}{}, caps.Groups["demo"].Ready
	})
	d := caps.Groups["demo"]
	if !d.Linked || !d.Enabled || !d.Ready || d.Detail != "demo says hi" || !caps.Consistency.OK || caps.Variant != "custom" {
		t.Fatalf("linked demo: %+v variant %s consistency %+v", d, caps.Variant, caps.Consistency)
	}
	var hello map[string]any
	if code := p.get(t, "GET", "/api/v2/demo/hello", &hello); code != 200 || hello["greeting"] != "hi" || hello["repeat"] != 1.0 || hello["reads_latency"] != true {
		t.Fatalf("hello: %d %v", code, hello)
	}
	help, err := exec.Command(linked, "--help").Output()
	if err != nil || !strings.Contains(string(help), "group demo:") || !strings.Contains(string(help), "(env DEMO_REPEAT, default \"1\", 1..5)") {
		t.Fatalf("--help: %v\n%s", err, help)
	}
	cmd := exec.Command(linked, "serve", "--demo-repeat", "9")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "DEMO_REPEAT") {
		t.Fatalf("out-of-bounds flag: %v\n%s", err, out)
	}

	// Not linked: 501 naming the group, reported as not linked, its
	// setting ignored and listed.
	u := startBinary(t, unlinked, "DEMO_GREETING=hi")
	var e map[string]any
	if code := u.get(t, "GET", "/api/v2/demo/hello", &e); code != http.StatusNotImplemented || !strings.Contains(fmt.Sprint(e), "group demo is not linked into the lean variant") {
		t.Fatalf("unlinked hello: %d %v", code, e)
	}
	if code := u.get(t, "GET", "/ml-capabilities", &caps); code != 200 || caps.Groups["demo"].Linked || !caps.Consistency.OK || caps.Variant != "lean" {
		t.Fatalf("unlinked caps: %+v", caps)
	}
	var ph struct {
		Ignored []map[string]string `json:"ignored_settings"`
	}
	if code := u.get(t, "GET", "/__phase", &ph); code != 200 || len(ph.Ignored) != 1 || ph.Ignored[0]["name"] != "DEMO_GREETING" || ph.Ignored[0]["group"] != "demo" {
		t.Fatalf("unlinked /__phase: %+v", ph)
	}
}
