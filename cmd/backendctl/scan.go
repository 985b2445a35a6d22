package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/gotoolchain"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/ops/scan"
)

type licenseReport struct {
	GeneratedAt time.Time                `json:"generated_at"`
	Source      string                   `json:"source"`
	Variants    map[string][]scan.Module `json:"variants"`
	Unknown     []string                 `json:"unknown_licenses"`
}

type vulnReport struct {
	GeneratedAt time.Time                 `json:"generated_at"`
	Database    string                    `json:"database"`
	Variants    map[string][]scan.Finding `json:"variants"`
	Reachable   int                       `json:"reachable"`
}

func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	root := fs.String("root", ".", "module root (holds go.mod and tools/go.mod)")
	var variants listFlag
	fs.Var(&variants, "variant", "variants to scan (repeatable or comma-separated; default all)")
	out := fs.String("out", "build-reports", "directory for licenses.json and vulns.json")
	db := fs.String("db", "", "vulnerability database URL (default: the pinned golang.org/x/vulndb module's data/osv, offline)")
	dbVersion := fs.String("vulndb-version", scan.VulnDBVersion, "version of golang.org/x/vulndb to read")
	skipVulns := fs.Bool("skip-vulns", false, "write the license inventory only")
	failOnHigh := fs.Bool("fail-on-high", false, "exit 1 when a variant calls a known-vulnerable symbol")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if _, err := gotoolchain.Pin(*root); err != nil {
		fmt.Fprintln(stderr, "scan:", err)
		return exitFailed
	}
	names := variants.values
	if len(names) == 0 {
		names = groupspec.VariantNames()
	}
	tagsOf := map[string][]string{}
	for _, v := range names {
		tags, err := groupspec.VariantTags(v)
		if err != nil {
			fmt.Fprintf(stderr, "backendctl scan: %v\n", err)
			return exitUsage
		}
		tagsOf[v] = tags
	}
	lic := licenseReport{GeneratedAt: time.Now().UTC(), Source: "license files in the module cache", Variants: map[string][]scan.Module{}, Unknown: []string{}}
	unknown := map[string]bool{}
	for _, v := range names {
		mods, err := scan.Licenses(ctx, "go", *root, tagsOf[v])
		if err != nil {
			fmt.Fprintf(stderr, "backendctl scan: %s: %v\n", v, err)
			return exitFailed
		}
		lic.Variants[v] = mods
		for _, m := range mods {
			if m.License == "unknown" && !unknown[m.Path] {
				unknown[m.Path] = true
				lic.Unknown = append(lic.Unknown, m.Path)
			}
		}
		fmt.Fprintf(stdout, "licenses %-8s %d modules\n", v, len(mods))
	}
	if err := writeJSON(filepath.Join(*out, "licenses.json"), lic); err != nil {
		fmt.Fprintf(stderr, "backendctl scan: %v\n", err)
		return exitFailed
	}
	for _, u := range lic.Unknown {
		fmt.Fprintf(stdout, "licenses: no recognised license for %s\n", u)
	}
	if *skipVulns {
		return exitOK
	}
	dbURL := *db
	if dbURL == "" {
		dir, err := scan.VulnDBDir(ctx, "go", *dbVersion)
		if err != nil {
			fmt.Fprintf(stderr, "backendctl scan: %v\n", err)
			return exitFailed
		}
		dbURL = fileURL(dir)
	}
	binDir, err := os.MkdirTemp("", "backendctl-scan-")
	if err != nil {
		fmt.Fprintf(stderr, "backendctl scan: %v\n", err)
		return exitFailed
	}
	defer os.RemoveAll(binDir)
	gvc, err := scan.BuildGovulncheck(ctx, "go", *root, binDir)
	if err != nil {
		fmt.Fprintf(stderr, "backendctl scan: %v\n", err)
		return exitFailed
	}
	vr := vulnReport{GeneratedAt: time.Now().UTC(), Database: dbURL, Variants: map[string][]scan.Finding{}}
	for _, v := range names {
		fnd, err := scan.Vulns(ctx, gvc, *root, dbURL, tagsOf[v])
		if err != nil {
			fmt.Fprintf(stderr, "backendctl scan: %s: %v\n", v, err)
			return exitFailed
		}
		vr.Variants[v] = fnd
		n := 0
		for _, f := range fnd {
			if f.Reachable() {
				n++
				fmt.Fprintf(stdout, "vulns %-8s REACHABLE %s %s@%s (fixed in %s): %s\n", v, f.ID, f.Module, f.Version, f.Fixed, f.Summary)
			}
		}
		vr.Reachable += n
		fmt.Fprintf(stdout, "vulns %-8s %d findings, %d reachable\n", v, len(fnd), n)
	}
	if err := writeJSON(filepath.Join(*out, "vulns.json"), vr); err != nil {
		fmt.Fprintf(stderr, "backendctl scan: %v\n", err)
		return exitFailed
	}
	if *failOnHigh && vr.Reachable > 0 {
		fmt.Fprintf(stderr, "backendctl scan: %d reachable known vulnerabilities\n", vr.Reachable)
		return exitFailed
	}
	return exitOK
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFile(path, append(data, '\n'))
}

// fileURL turns a local directory into a file:// URL (Windows paths too).
func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if len(p) > 1 && p[1] == ':' {
		p = "/" + p
	}
	return "file://" + p
}
