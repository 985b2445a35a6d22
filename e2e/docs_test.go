package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryVariable keeps README's configuration table
// complete: every setting the full binary's --help lists (core and every
// group's own) is documented.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	help, err := exec.Command(buildVariant(t, "full"), "--help").Output()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	names := regexp.MustCompile(`\(env ([A-Z0-9_]+),`).FindAllStringSubmatch(string(help), -1)
	if len(names) < 50 {
		t.Fatalf("--help lists %d settings:\n%s", len(names), help)
	}
	for _, m := range names {
		if !strings.Contains(string(readme), "`"+m[1]+"`") {
			t.Errorf("README.md does not document %s", m[1])
		}
	}
}

// TestBuildDocVariantTable keeps BUILD.md's generated table in sync with the
// registry.
func TestBuildDocVariantTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "BUILD.md"))
	if err != nil {
		t.Fatal(err)
	}
	begin, end := []byte("<!-- variants:begin -->\n"), []byte("<!-- variants:end -->")
	i, j := bytes.Index(doc, begin), bytes.Index(doc, end)
	if i < 0 || j < i {
		t.Fatal("BUILD.md lacks the variants:begin/end markers")
	}
	cmd := exec.Command("go", "run", "./cmd/variants", "markdown")
	cmd.Dir = repoRoot
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := doc[i+len(begin) : j]; !bytes.Equal(got, want) {
		t.Errorf("BUILD.md variant table is stale; regenerate with `go run ./cmd/variants markdown`:\n%s", want)
	}
}
