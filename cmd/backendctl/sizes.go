package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/gotoolchain"
	"github.com/advanced-backend/advanced-backend/internal/ops/sizes"
)

func runSizes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sizes", flag.ContinueOnError)
	root := fs.String("root", ".", "module root to build from")
	cache := fs.String("cache", filepath.Join("build-reports", "sizes-cache"), "binary cache (keyed by tag set, flags, Go version and sources)")
	runs := fs.Int("runs", 3, "starts per binary; the median is reported")
	idle := fs.Duration("idle", time.Second, "wait after the first /health 200 before reading the idle RSS")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on one start")
	asJSON := fs.Bool("json", false, "print JSON")
	asMarkdown := fs.Bool("markdown", false, "print the Markdown tables for BUILD.md")
	budget := fs.String("budget", "", "JSON file {\"variant\": max_bytes}; exit 1 when a build is over")
	nm := fs.Int("nm", 0, "also list the N packages with the most symbol bytes in full (unstripped build)")
	from := fs.String("from", "", "print a report saved with --json instead of measuring")
	var only listFlag
	fs.Var(&only, "only", "measure only these builds (comma-separated names, e.g. lean,full)")
	floor := fs.Bool("floor", false, "also measure the floor: a bare gin server with lean's libraries (internal/ops/sizes/floor), and each build over it")
	var extra []sizes.Extra
	fs.Func("exe", "also measure a binary built elsewhere, NAME=PATH (repeatable; e.g. lean at an earlier commit)", func(v string) error {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("want NAME=PATH, got %q", v)
		}
		extra = append(extra, sizes.Extra{Name: name, Path: path})
		return nil
	})
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	var rep *sizes.Report
	var err error
	if *from != "" {
		rep, err = sizes.LoadReport(*from)
	} else if _, err = gotoolchain.Pin(*root); err == nil {
		rep, err = sizes.Run(ctx, sizes.Options{Root: *root, CacheDir: *cache, Go: "go", Runs: *runs,
			Idle: *idle, Timeout: *timeout, NMTop: *nm, Only: only.values, Floor: *floor, Extra: extra, Log: stderr})
	}
	if err != nil {
		fmt.Fprintf(stderr, "backendctl sizes: %v\n", err)
		return exitFailed
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "backendctl sizes: %v\n", err)
			return exitFailed
		}
	case *asMarkdown:
		sizes.WriteMarkdown(stdout, rep)
	default:
		sizes.WriteTable(stdout, rep)
	}
	if *budget != "" {
		b, err := sizes.LoadBudget(*budget)
		if err != nil {
			fmt.Fprintf(stderr, "backendctl sizes: %v\n", err)
			return exitFailed
		}
		if over := b.Check(rep.Rows); len(over) > 0 {
			for _, o := range over {
				fmt.Fprintf(stderr, "budget: %s\n", o)
			}
			return exitFailed
		}
		fmt.Fprintf(stderr, "sizes: every build within %s\n", *budget)
	}
	return exitOK
}
