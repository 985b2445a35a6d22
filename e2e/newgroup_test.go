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
	"github.com/advanced-backend/advanced-backend/internal/ops/smoke"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// TestAddingAGroup proves BUILD.md's "Adding a group": a throwaway group
// (e2e/testdata/newgroup) is laid over the tree with `go build -overlay` as
// three new files and no edit to any existing file: its description in
// features/groupdesc, its package under features/ and one link file.
// Built with its tag it registers, reports, serves, has its settings parsed
// and reads the core service it declares (the latency engine); built
// without it, its routes answer 501 and its settings are reported as
// ignored. It appears in the variant table (it declares itself part of
// full), the goreleaser builds, the settings documents and the smoke run
// of backendctl, all derived from what the group declares.
func TestAddingAGroup(t *testing.T) {
	dir := t.TempDir()
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	root := abs(repoRoot) // overlay paths are absolute
	replace := map[string]string{
		filepath.Join(root, "features", "groupdesc", "demo.go"): abs(filepath.Join("testdata", "newgroup", "groupdesc_demo.go.txt")),
		filepath.Join(root, "features", "demo", "demo.go"):      abs(filepath.Join("testdata", "newgroup", "demo.go")),
		filepath.Join(root, "features", "link_demo.go"):         abs(filepath.Join("testdata", "newgroup", "link_demo.go.txt")),
	}
	for p := range replace {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("the overlay edits %s, which exists: adding a group must only add files", p)
		}
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	goOverlay := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot
		// GOFLAGS, not -overlay: settingsdoc runs go again, which must see the overlay too.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-overlay="+overlayFile)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go %v: %v\n%s", args, err, stderr)
		}
		return string(out)
	}
	// Derived from the description: the table, the goreleaser builds and
	// the settings documents.
	if vs := goOverlay("run", "./cmd/variants", "groups", "full"); strings.TrimSpace(vs) != "ml llm vector optional demo" {
		t.Errorf("variant full: %q", vs)
	}
	if md := goOverlay("run", "./cmd/variants", "markdown"); !strings.Contains(md, "demo") {
		t.Errorf("BUILD.md tables lack demo:\n%s", md)
	}
	if gr := goOverlay("run", "./cmd/variants", "goreleaser"); !strings.Contains(gr, "tags: [nomsgpack, grpcnotrace, ml, llm, vector, optional, demo]") {
		t.Errorf("goreleaser builds lack demo:\n%s", gr)
	}
	if env := goOverlay("run", "./cmd/settingsdoc", "env"); !strings.Contains(env, "# --- group demo (full;") || !strings.Contains(env, "#DEMO_REPEAT=1\n") {
		t.Errorf(".env.example lacks demo's settings:\n%s", env)
	}
	if tbl := goOverlay("run", "./cmd/settingsdoc", "table"); !strings.Contains(tbl, "| `DEMO_GREETING` | `hello` | demo (full) |") {
		t.Errorf("README table lacks demo's settings:\n%s", tbl)
	}
	ctl := filepath.Join(dir, "backendctl")
	goOverlay("build", "-o", ctl, "./cmd/backendctl")

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
	// backendctl's smoke run takes the demo's cases from its description.
	smokeOut := filepath.Join(dir, "smoke.json")
	if code, text := runExit(t, exec.Command(ctl, "smoke", "--url", p.Base, "--out", smokeOut), 3*time.Minute); code != 0 || !strings.Contains(text, " 0 failed") {
		t.Fatalf("smoke: exit %d\n%s", code, text)
	}
	// core's cases, one per route prefix of each unlinked real group, and
	// the demo's: its mounted prefix and its own case.
	want := len(smoke.CoreCases()) + 2
	for _, g := range groupspec.Groups() {
		want += len(g.RoutePrefixes)
	}
	var sr smokeFile
	if readJSON(t, smokeOut, &sr); sr.Checked != want || sr.Failed != 0 {
		t.Fatalf("smoke result %+v, want %d checked", sr, want)
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
