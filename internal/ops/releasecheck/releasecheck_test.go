package releasecheck

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestRestrictGOOS derives the linux-only configuration from the
// repository's .goreleaser.yaml: every build targets linux only, with its
// arches, and nothing else changes.
func TestRestrictGOOS(t *testing.T) {
	orig, err := os.ReadFile("../../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := RestrictGOOS(orig, []string{"linux"})
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	if err := yaml.Unmarshal(orig, &a); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	builds := b["builds"].([]any)
	if len(builds) == 0 {
		t.Fatal("no builds")
	}
	for i, x := range builds {
		m := x.(map[string]any)
		if goos := m["goos"].([]any); len(goos) != 1 || goos[0] != "linux" {
			t.Errorf("build %v: goos %v", m["id"], goos)
		}
		m["goos"] = a["builds"].([]any)[i].(map[string]any)["goos"]
	}
	ya, _ := yaml.Marshal(a)
	yb, _ := yaml.Marshal(b)
	if string(ya) != string(yb) {
		t.Errorf("more than goos changed:\n%s\n---\n%s", ya, yb)
	}
	if _, err := RestrictGOOS([]byte("version: 2\n"), []string{"linux"}); err == nil {
		t.Error("a configuration without builds was accepted")
	}
}

// TestCheckFormat checks the test binary itself: it is an executable of
// this OS and arch and of no other.
func TestCheckFormat(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		t.Skip("no release OS")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFormat(self, runtime.GOOS, runtime.GOARCH); err != nil && !strings.Contains(err.Error(), "not static") {
		t.Errorf("the test binary: %v", err)
	}
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	if _, err := CheckFormat(self, runtime.GOOS, other); err == nil {
		t.Errorf("the test binary passed as %s/%s", runtime.GOOS, other)
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		if goos == runtime.GOOS {
			continue
		}
		if _, err := CheckFormat(self, goos, runtime.GOARCH); err == nil {
			t.Errorf("the test binary passed as a %s executable", goos)
		}
	}
}

func writeTarGz(t *testing.T, name string, files map[string]string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	f.Close()
}

// TestVerifyFindsProblems runs Verify on a directory with a tampered
// archive, an archive missing from the checksums, a member that escapes
// the archive and missing targets: each is reported.
func TestVerifyFindsProblems(t *testing.T) {
	dir := t.TempDir()
	good := Project + "_1.0.0_lean_linux_amd64.tar.gz"
	writeTarGz(t, filepath.Join(dir, good), map[string]string{"../evil": "x"})
	unlisted := Project + "_1.0.0_full_darwin_arm64.tar.gz"
	writeTarGz(t, filepath.Join(dir, unlisted), map[string]string{"x/README.md": "x"})
	sum, err := fileSHA256(filepath.Join(dir, good))
	if err != nil {
		t.Fatal(err)
	}
	// The sum of another content: a tampered archive.
	bad := strings.Repeat("0", 64)
	if bad == sum {
		t.Fatal("unlucky")
	}
	os.WriteFile(filepath.Join(dir, Project+"_1.0.0_checksums.txt"), []byte(bad+"  "+good+"\n"), 0o644)
	_, err = Verify(context.Background(), Options{Dir: dir, Version: "1.0.0", GOOS: []string{"linux"}, GOARCH: []string{"amd64"}})
	if err == nil {
		t.Fatal("Verify passed")
	}
	for _, want := range []string{
		good + ": sha256 " + sum,
		unlisted + " is not in",
		"escapes the archive",
		"no archive for hybrid linux/amd64",
		"lean_linux_amd64.cdx.json is not in",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}

	// An archive of an unknown variant, or of another version, stops the check.
	writeTarGz(t, filepath.Join(dir, Project+"_1.0.0_huge_linux_amd64.tar.gz"), nil)
	if _, err := Verify(context.Background(), Options{Dir: dir, Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), `variant "huge"`) {
		t.Errorf("unknown variant: %v", err)
	}
	if _, err := findArchives(dir, "2.0.0"); err == nil {
		t.Error("archives of version 1.0.0 passed as 2.0.0")
	}
}

func TestPURLModule(t *testing.T) {
	for purl, want := range map[string]string{
		"pkg:golang/github.com/gin-gonic/gin@v1.10.0?type=module": "github.com/gin-gonic/gin",
		"pkg:golang/gonum.org/v1/gonum@v0.16.0":                   "gonum.org/v1/gonum",
		"pkg:npm/left-pad@1.0.0":                                  "",
	} {
		if got := purlModule(purl); got != want {
			t.Errorf("purlModule(%q) = %q, want %q", purl, got, want)
		}
	}
	s := SBOM{Components: []Component{{PURL: "pkg:golang/b@v1"}, {PURL: "pkg:golang/a@v1"}, {PURL: "pkg:golang/main@v0"}}}
	s.Metadata.Component.PURL = "pkg:golang/main@v0"
	if got := s.Modules(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Modules %v", got)
	}
}
