package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// TestReadmeDocumentsEveryVariable keeps README's configuration table
// complete.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range config.Vars() {
		if !strings.Contains(string(readme), "`"+v.Env+"`") {
			t.Errorf("README.md does not document %s", v.Env)
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
