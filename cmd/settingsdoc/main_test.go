package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// Every group of the table is linked here, so every group's settings are
// in the documents (a new group must be imported by main.go).
func TestEveryGroupDeclares(t *testing.T) {
	if got, want := capability.LinkedNames(), groupspec.GroupNames(); !slices.Equal(got, want) {
		t.Fatalf("settingsdoc links groups %v, the table has %v: import the missing group", got, want)
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
	want, err := readmeWith(readme, table(settings()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readme, want) {
		t.Fatalf("README.md's settings table is stale: run make generate (go run ./cmd/settingsdoc -w .)\nwant:\n%s", table(settings()))
	}
}

// TestEnvExampleIsCurrent: .env.example is exactly what the declarations
// generate; regenerate with `make generate`.
func TestEnvExampleIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	if want := envExample(settings()); string(got) != want {
		t.Fatalf(".env.example is stale: run make generate (go run ./cmd/settingsdoc -w .)\nwant:\n%s", want)
	}
}

// Every declared setting appears once in each document, with its default.
func TestDocumentsListEverySetting(t *testing.T) {
	es := settings()
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
	for _, v := range config.Vars() {
		if v.Default != "" && !strings.Contains(env, "\n"+v.Env+"="+v.Default+"\n") {
			t.Errorf(".env.example does not set core setting %s to its default", v.Env)
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
