package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassify runs real license files (copied from modules this project
// links; the file name is the expected SPDX id) through Classify.
func TestClassify(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "licenses", "*"))
	if err != nil || len(files) < 6 {
		t.Fatalf("license fixtures: %v %v", files, err)
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := Classify(string(text)), filepath.Base(f); got != want {
			t.Errorf("Classify(%s) = %s, want %s", f, got, want)
		}
	}
	for _, text := range []string{"All rights reserved. Do not copy.", ""} {
		if got := Classify(text); got != "unknown" {
			t.Errorf("Classify(%q) = %s, want unknown", text, got)
		}
	}
}

func TestClassifyDir(t *testing.T) {
	dir := t.TempDir()
	apache, err := os.ReadFile(filepath.Join("testdata", "licenses", "Apache-2.0"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "LICENSE.txt"), apache, 0o644)
	os.WriteFile(filepath.Join(dir, "license_test.go"), []byte("package x"), 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("MIT"), 0o644)
	id, files, err := classifyDir(dir)
	if err != nil || id != "Apache-2.0" || len(files) != 1 || files[0] != "LICENSE.txt" {
		t.Errorf("classifyDir: %s %v %v", id, files, err)
	}
	if id, _, _ := classifyDir(""); id != "unknown" {
		t.Errorf("no dir: %s", id)
	}
}

// A trimmed govulncheck -format json stream (the shape v1.9.0 writes): one
// vulnerability called from the code, one only imported, one only required.
const stream = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","scan_level":"symbol"}}
{"progress":{"message":"Scanning your code and 120 packages across 27 dependent modules for known vulnerabilities..."}}
{"osv":{"id":"GO-2026-0001","aliases":["CVE-2026-1111"],"summary":"Crash in net/http"}}
{"osv":{"id":"GO-2026-0002","summary":"Leak in mime"}}
{"osv":{"id":"GO-2026-0003","summary":"Bug in x/text"}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Serve","receiver":"*Server"},{"module":"github.com/advanced-backend/advanced-backend","package":"main","function":"main"}]}}
{"finding":{"osv":"GO-2026-0002","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"mime"}]}}
{"finding":{"osv":"GO-2026-0003","trace":[{"module":"golang.org/x/text","version":"v0.44.0"}]}}
`

func TestParseGovulncheck(t *testing.T) {
	fs, err := ParseGovulncheck(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("%d findings: %+v", len(fs), fs)
	}
	a, b, c := fs[0], fs[1], fs[2]
	if a.ID != "GO-2026-0001" || a.Level != "called" || !a.Reachable() || a.Fixed != "v1.26.9" ||
		a.Symbols[0] != "net/http.*Server.Serve" || a.Aliases[0] != "CVE-2026-1111" || a.Summary != "Crash in net/http" {
		t.Errorf("called: %+v", a)
	}
	if b.Level != "imported" || b.Reachable() || b.Packages[0] != "mime" {
		t.Errorf("imported: %+v", b)
	}
	if c.Level != "required" || c.Module != "golang.org/x/text" {
		t.Errorf("required: %+v", c)
	}
	if _, err := ParseGovulncheck(strings.NewReader("{not json")); err == nil {
		t.Error("garbage accepted")
	}
}
