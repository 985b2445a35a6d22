package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/gotoolchain"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/ops/probe"
)

func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	exe := fs.String("exe", "", "binary to start (default: dist/full, then dist/lean, then a fresh build of ./cmd/advanced-backend)")
	port := fs.Int("port", 8070, "loopback port the binary serves on")
	noStart := fs.Bool("no-start", false, "probe a service already running on --port instead of starting one")
	out := fs.String("out", "", "write /ml-capabilities to this file")
	variant := fs.String("expect-variant", "", "fail (exit 3) unless the binary reports this variant")
	var groups listFlag
	fs.Var(&groups, "expect-groups", "fail (exit 3) unless exactly these groups are linked (comma-separated; \"\" for none)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for /health")
	var env listFlag
	fs.Var(&env, "env", "extra KEY=VALUE for the binary (repeatable)")
	quiet := fs.Bool("quiet", false, "do not print the capabilities")
	emulator := fs.String("emulator", "", "run --exe through this user-mode emulator (e.g. qemu-aarch64-static for a linux/arm64 binary)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if *port < 1 || *port > 65535 {
		fmt.Fprintf(stderr, "backendctl probe: --port %d out of range\n", *port)
		return exitUsage
	}
	opts := probe.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), Env: env.values,
		Timeout: *timeout, ExpectVariant: *variant, Emulator: *emulator}
	if groups.set {
		opts.ExpectGroups = append([]string{}, groups.values...)
	}
	if !*noStart {
		path, cleanup, err := pickExe(ctx, *exe, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "backendctl probe: %v\n", err)
			return exitFailed
		}
		defer cleanup()
		opts.Exe = path
	}
	res, err := probe.Probe(ctx, opts)
	if len(res.Raw) > 0 {
		if !*quiet {
			stdout.Write(res.Raw)
			fmt.Fprintln(stdout)
		}
		if *out != "" {
			if werr := writeFile(*out, res.Raw); werr != nil {
				fmt.Fprintf(stderr, "backendctl probe: %v\n", werr)
				return exitFailed
			}
		}
	}
	switch {
	case err == nil:
		fmt.Fprintf(stderr, "probe: %s variant %s, groups %v, consistent; /health after %s\n",
			opts.Addr, res.Report.Variant, res.Report.Linked(), res.HealthIn.Round(time.Millisecond))
		return exitOK
	case errors.Is(err, probe.ErrExited), errors.Is(err, probe.ErrNotReady),
		errors.Is(err, probe.ErrPortInUse), errors.Is(err, probe.ErrNotOurs):
		fmt.Fprintf(stderr, "backendctl probe: %v\n", err)
		return exitNotReady
	case errors.Is(err, probe.ErrMismatch):
		fmt.Fprintf(stderr, "backendctl probe: %v\n", err)
		return exitDiffers
	default:
		fmt.Fprintf(stderr, "backendctl probe: %v\n", err)
		return exitFailed
	}
}

// pickExe returns the binary to probe: the given one, else dist/full, else
// dist/lean, else a build of ./cmd/advanced-backend into a temporary
// directory (removed by cleanup).
func pickExe(ctx context.Context, exe string, stderr io.Writer) (string, func(), error) {
	none := func() {}
	if exe != "" {
		if _, err := os.Stat(exe); err != nil {
			return "", none, fmt.Errorf("--exe: %w", err)
		}
		return exe, none, nil
	}
	name := "advanced-backend"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	for _, v := range []string{"full", "lean"} {
		p := filepath.Join("dist", v, name)
		if _, err := os.Stat(p); err == nil {
			return p, none, nil
		}
	}
	dir, err := os.MkdirTemp("", "backendctl-probe-")
	if err != nil {
		return "", none, fmt.Errorf("temp dir: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	p := filepath.Join(dir, name)
	tags, err := groupspec.VariantTags("lean")
	if err != nil {
		cleanup()
		return "", none, err
	}
	if _, err := gotoolchain.Pin("."); err != nil {
		cleanup()
		return "", none, err
	}
	fmt.Fprintln(stderr, "probe: no dist/full or dist/lean binary; building the lean variant of ./cmd/advanced-backend")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", strings.Join(tags, ","), "-o", p, "./cmd/advanced-backend")
	if msg, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", none, fmt.Errorf("go build ./cmd/advanced-backend: %w\n%s", err, msg)
	}
	return p, cleanup, nil
}

// writeFile writes data to path, creating its directory.
func writeFile(path string, data []byte) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
