package gotoolchain

import (
	"os"
	"path/filepath"
	"testing"
)

func writeMod(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFromGoMod(t *testing.T) {
	for _, c := range []struct{ mod, want string }{
		{"module m\n\ngo 1.27.3\n", "go1.27.3"},
		{"module m\n\ngo 1.27.3\n\ntoolchain go1.27.5\n", "go1.27.5"},
		{"module m\ngo 1.27rc1\n", "go1.27rc1"},
	} {
		got, err := FromGoMod(writeMod(t, c.mod))
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.mod, got, err, c.want)
		}
	}
	if _, err := FromGoMod(writeMod(t, "module m\n")); err == nil {
		t.Error("a go.mod without a go line: no error")
	}
	if _, err := FromGoMod(t.TempDir()); err == nil {
		t.Error("no go.mod: no error")
	}
}

// The repository's own go.mod names the toolchain the Makefile uses.
func TestRepositoryGoMod(t *testing.T) {
	v, err := FromGoMod("../..")
	if err != nil || len(v) < 6 {
		t.Fatalf("%q, %v", v, err)
	}
}

func TestPin(t *testing.T) {
	root := writeMod(t, "module m\ngo 1.27.3\n")
	t.Setenv("GOTOOLCHAIN", "go1.99.0")
	if v, err := Pin(root); err != nil || v != "go1.99.0" || os.Getenv("GOTOOLCHAIN") != "go1.99.0" {
		t.Fatalf("an explicit GOTOOLCHAIN was not kept: %q, %v", v, err)
	}
	t.Setenv("GOTOOLCHAIN", "")
	if v, err := Pin(root); err != nil || v != "go1.27.3" || os.Getenv("GOTOOLCHAIN") != "go1.27.3" {
		t.Fatalf("unset GOTOOLCHAIN: %q, %v (env %q)", v, err, os.Getenv("GOTOOLCHAIN"))
	}
}
