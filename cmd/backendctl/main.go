// Command backendctl is the ops tool of advanced-backend; it runs the same
// on Linux, macOS and Windows and links none of the service's groups:
//
//	backendctl probe  [--exe BIN] [--port 8070] [--out FILE] [--expect-variant V] [--expect-groups a,b]
//	backendctl smoke  [--url http://127.0.0.1:8070 | --exe BIN] [--token-file F] [--out smoke_failures.json]
//	backendctl load   [--url URL]... [--duration 10s] [--concurrency 8] [--rps 50] [--out load_test_summary.json]
//	backendctl sizes  [--runs 3] [--json|--markdown] [--budget FILE] [--nm 20]
//	backendctl scan   [--variant V]... [--out build-reports] [--fail-on-high]
//
// Exit codes: 0 success; 1 failure (smoke or load failures, budget exceeded,
// reachable vulnerabilities with --fail-on-high, or an error); probe: 2
// /health never answered 200, 3 capabilities differ; 64 bad usage.
package main

import (
	// The group table: every group's description (stdlib only, no server code).
	"context"
	"errors"
	"flag"
	"fmt"
	_ "github.com/advanced-backend/advanced-backend/features/groupdesc"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
)

const (
	exitOK       = 0
	exitFailed   = 1
	exitNotReady = 2
	exitDiffers  = 3
	exitUsage    = 64
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"probe", "start a binary, wait for /health, capture and compare /ml-capabilities", runProbe},
	{"smoke", "replay the core and linked-group endpoints; write smoke_failures.json", runSmoke},
	{"load", "burst then steady load against loopback URLs; write load_test_summary.json", runLoad},
	{"sizes", "build and measure every variant and lean+group/full-group builds", runSizes},
	{"scan", "license inventory and govulncheck report per variant", runScan},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "backendctl: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: backendctl <command> [flags]   (backendctl <command> -h for its flags)")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
}

// parse parses a command's flags; it returns an exit code when the command
// should stop (help or a bad flag).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 && fs.Name() != "load" {
		fmt.Fprintf(stderr, "backendctl %s: unexpected arguments %v\n", fs.Name(), fs.Args())
		return exitUsage, false
	}
	return 0, true
}

// listFlag is a repeatable, comma-separated flag.
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) String() string { return fmt.Sprint(l.values) }

func (l *listFlag) Set(s string) error {
	l.set = true
	for _, v := range splitComma(s) {
		l.values = append(l.values, v)
	}
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
