package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGoreleaserFileIsCurrent: the committed .goreleaser.yaml holds exactly
// what the table generates; regenerate with
// `go run ./cmd/variants goreleaser -w .goreleaser.yaml`.
func TestGoreleaserFileIsCurrent(t *testing.T) {
	doc, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	i, j, err := generatedPart(doc)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	writeGoreleaser(&want)
	if got := doc[i:j]; !bytes.Equal(got, want.Bytes()) {
		t.Fatalf(".goreleaser.yaml is stale; run go run ./cmd/variants goreleaser -w .goreleaser.yaml\nwant:\n%s", want.Bytes())
	}
}

func TestRewriteKeepsTheRest(t *testing.T) {
	path := t.TempDir() + "/g.yaml"
	in := "version: 2\n" + genBegin + "builds: stale\n" + genEnd + "dockers: []\n"
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewriteGoreleaser(path); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(path)
	var gen bytes.Buffer
	writeGoreleaser(&gen)
	if string(out) != "version: 2\n"+gen.String()+"dockers: []\n" {
		t.Fatalf("%s", out)
	}
	if err := os.WriteFile(path, []byte("version: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewriteGoreleaser(path); err == nil {
		t.Fatal("a file without markers was rewritten")
	}
}

// TestMakeFileIsCurrent: the committed variants.mk (which the Makefile
// includes) holds exactly what the table generates; regenerate with
// `go run ./cmd/variants make -w variants.mk`.
func TestMakeFileIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../variants.mk")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	writeMake(&want)
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("variants.mk is stale; run go run ./cmd/variants make -w variants.mk\nwant:\n%s", want.Bytes())
	}
}
