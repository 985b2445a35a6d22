package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/ops/probe"
	"github.com/advanced-backend/advanced-backend/internal/ops/releasecheck"
)

// TestSBOMGroupModules runs goreleaser's SBOM step (the command in
// .goreleaser.yaml) on lean and full binaries: each SBOM lists exactly the
// modules its binary links, lean's names no module only a group brings, and
// full's names every group's modules. Each SBOM checked as the other variant
// must fail, so the check can tell them apart.
func TestSBOMGroupModules(t *testing.T) {
	cfg := readSBOMConfig(t)
	dir := t.TempDir()
	sboms := map[string]releasecheck.SBOM{}
	for _, variant := range []string{"lean", "full"} {
		bin := buildVariant(t, variant)
		doc := filepath.Join(dir, variant+".cdx.json")
		cmd := exec.Command("go", sbomArgs(t, cfg, doc, bin)...)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("SBOM of %s: %v\n%s", variant, err, out)
		}
		s, err := releasecheck.ReadSBOM(doc)
		if err != nil {
			t.Fatal(err)
		}
		b, err := probe.ReadBuild(bin)
		if err != nil {
			t.Fatal(err)
		}
		var linked []string
		for m := range b.Modules {
			linked = append(linked, m)
		}
		if err := releasecheck.CheckSBOM(s, variant, linked); err != nil {
			t.Errorf("%s: %v", variant, err)
		}
		if s.MainVersion() != "v0.0.0-e2e" {
			t.Errorf("%s: SBOM main component version %q, want the release version v0.0.0-e2e", variant, s.MainVersion())
		}
		t.Logf("%s: SBOM names %d modules", variant, len(s.Modules()))
		sboms[variant] = s
	}
	if err := releasecheck.CheckSBOM(sboms["lean"], "full", nil); err == nil {
		t.Error("lean's SBOM passed as full's")
	}
	if err := releasecheck.CheckSBOM(sboms["full"], "lean", nil); err == nil {
		t.Error("full's SBOM passed as lean's")
	} else {
		t.Logf("full's SBOM as lean's: %v", err)
	}
}
