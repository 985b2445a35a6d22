package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// declared runs settingsdoc with every declared group linked, as `make
// generate` does, and returns the settings it reads (once per test run).
var declared = sync.OnceValues(func() ([]entry, error) {
	cmd := exec.Command("go", "run", "-tags", strings.Join(allTags(), ","), ".", linkedArg, "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.Bytes())
	}
	var es []entry
	return es, json.Unmarshal(out, &es)
})

func settingsT(t *testing.T) []entry {
	t.Helper()
	es, err := declared()
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Every group of the table has its settings in the documents.
func TestEveryGroupDeclares(t *testing.T) {
	es := settingsT(t)
	for _, g := range groupspec.GroupNames() {
		if !slices.ContainsFunc(es, func(e entry) bool { return e.group == g }) {
			t.Errorf("group %s: no settings read (does it register its settings?)", g)
		}
	}
}

// TestReadmeSettingsTableIsCurrent: README.md's settings table is exactly
// what the declarations generate (name, default, group, help); regenerate
// with `make generate`.
func TestReadmeSettingsTableIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := readmeWith(readme, table(settingsT(t)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readme, want) {
		t.Fatalf("README.md's settings table is stale: run make generate (go run ./cmd/settingsdoc -w .)\nwant:\n%s", table(settingsT(t)))
	}
}

// TestEnvExampleIsCurrent: .env.example is exactly what the declarations
// generate; regenerate with `make generate`.
func TestEnvExampleIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	if want := envExample(settingsT(t)); string(got) != want {
		t.Fatalf(".env.example is stale: run make generate (go run ./cmd/settingsdoc -w .)\nwant:\n%s", want)
	}
}

// Every declared setting appears once in each document, with its default.
func TestDocumentsListEverySetting(t *testing.T) {
	es := settingsT(t)
	if len(es) < 50 {
		t.Fatalf("only %d settings declared", len(es))
	}
	tbl, env := table(es), envExample(es)
	for _, e := range es {
		if n := strings.Count(tbl, "| `"+e.name+"` |"); n != 1 {
			t.Errorf("table lists %s %d times", e.name, n)
		}
		if !strings.Contains(env, e.name+"="+e.def+"\n") {
			t.Errorf(".env.example lacks %s=%s", e.name, e.def)
		}
	}
	for _, v := range config.CoreSettings() {
		if v.Default != "" && !strings.Contains(env, "\n"+v.Name+"="+v.Default+"\n") {
			t.Errorf(".env.example does not set core setting %s to its default", v.Name)
		}
	}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	in := "# x\n\n" + beginMarker + "stale\n" + endMarker + "\n\nafter\n"
	if err := os.WriteFile(dir+"/README.md", []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-w", dir}, nil); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(dir + "/README.md")
	if string(out) != "# x\n\n"+beginMarker+table(settings())+endMarker+"\n\nafter\n" {
		t.Fatalf("rewrite:\n%s", out)
	}
	if env, err := os.ReadFile(dir + "/.env.example"); err != nil || string(env) != envExample(settings()) {
		t.Fatalf(".env.example: %v", err)
	}
	if err := os.WriteFile(dir+"/README.md", []byte("no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-w", dir}, nil); err == nil {
		t.Fatal("a README without markers was accepted")
	}
}
