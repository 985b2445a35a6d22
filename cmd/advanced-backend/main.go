// Command advanced-backend is the service. Which optional groups it
// contains is decided at build time by tags (see BUILD.md).
//
//	advanced-backend [serve] [flags]   run the HTTP service (default)
//	advanced-backend version           version, commit, variant, tags, Go, OS/arch
//	advanced-backend capabilities      print the /ml-capabilities report without serving
//	advanced-backend healthcheck       exit 0 when the service at ADDR is ready (GET /ready), 1 otherwise
//	advanced-backend hash-password     print a bcrypt hash for USERS_FILE (password on stdin)
//	advanced-backend <group command>   a linked group's own command (vector-salvage with the vector group)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/service"
	"github.com/advanced-backend/advanced-backend/internal/version"

	_ "github.com/advanced-backend/advanced-backend/features" // the linked groups register here
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2 // bad configuration or arguments
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "capabilities", "healthcheck":
		if wantsHelp(args) {
			usage(stdout)
			return exitOK
		}
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "version":
		return printVersion(stdout)
	case "capabilities":
		return printCapabilities(args, stdout, stderr)
	case "healthcheck":
		return healthcheck(args, stdout, stderr)
	case "hash-password":
		return hashPassword(args, os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		if c, ok := capability.LookupCommand(cmd); ok {
			return c.Run(args, stdout, stderr)
		}
		fmt.Fprintf(stderr, "advanced-backend: unknown command %q\n", cmd)
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: advanced-backend [serve|version|capabilities|healthcheck] [flags]")
	fmt.Fprintln(w, "       advanced-backend hash-password [--cost N] [--password P]   (password read from stdin unless given)")
	fmt.Fprintln(w, "       advanced-backend healthcheck   exit 0 when the service at ADDR answers GET /ready 200, else 1")
	for _, c := range capability.LinkedCommands() {
		fmt.Fprintf(w, "       advanced-backend %s %s\n", c.Name, c.Usage)
	}
	fmt.Fprintln(w, "flags of serve, capabilities and healthcheck (each mirrors an environment variable), by group:")
	linked, unlinked, _ := capability.SettingsOptions(capability.Linked())
	config.Usage(w, linked, unlinked)
}

// wantsHelp reports a -h/--help among the flags of serve, capabilities or healthcheck.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// loadConfig parses core settings and the linked groups' own; settings of
// groups this binary does not link are recorded (or refused with
// STRICT_SETTINGS). When it returns no Config the command ends with the
// exit code given: exitOK after a help flag the flag package saw (the usage
// went to stdout), failed otherwise.
func loadConfig(args []string, stdout, stderr io.Writer, failed int) (*config.Config, int) {
	linked, unlinked, variant := capability.SettingsOptions(capability.Linked())
	cfg, err := config.LoadWith(config.Options{Args: args, LookupEnv: os.LookupEnv, Environ: os.Environ(),
		Linked: linked, Unlinked: unlinked, Variant: variant})
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return nil, exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "advanced-backend: configuration: %v\n", err)
		return nil, failed
	}
	return cfg, exitOK
}

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig(args, stdout, stderr, exitUsage)
	if cfg == nil {
		return code
	}
	logger := service.NewLogger(cfg, stderr)
	svc, err := service.New(cfg, logger, capability.Instantiate(capability.Linked(), cfg.Group), capability.ReadBuildFacts())
	var cerr *config.Error
	if errors.As(err, &cerr) { // a setting this binary cannot honour (READY_REQUIRE of a group not linked)
		fmt.Fprintf(stderr, "advanced-backend: configuration: %v\n", err)
		return exitUsage
	}
	if err != nil {
		logger.Error("start-up failed", "err", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		logger.Error("listen failed", "addr", cfg.Addr, "err", err)
		return exitFailed
	}
	// SIGHUP only means "reload the registry file" (optional group, which
	// subscribes to it itself); anywhere else its default action would kill
	// the service, so it is ignored until a group asks for it.
	signal.Ignore(syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := svc.Run(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("server stopped", "err", err)
		if errors.Is(err, groupapi.ErrFatal) { // a group's data cannot be served: an operator must act
			fmt.Fprintf(stderr, "advanced-backend: %v\n", err)
			return exitUsage
		}
		return exitFailed
	}
	return exitOK
}

func printVersion(stdout io.Writer) int {
	facts := capability.ReadBuildFacts()
	linked := capability.LinkedNames()
	fmt.Fprintf(stdout, "advanced-backend %s\n", version.Full(linked))
	fmt.Fprintf(stdout, "commit:  %s\n", version.Commit)
	fmt.Fprintf(stdout, "variant: %s\n", groupspec.VariantFor(linked))
	fmt.Fprintf(stdout, "tags:    %s\n", strings.Join(facts.Tags, ","))
	fmt.Fprintf(stdout, "go:      %s\n", runtime.Version())
	fmt.Fprintf(stdout, "os/arch: %s/%s\n", runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// printCapabilities prints the report a server would serve, like `caddy
// list-modules`: what is linked, read from the registry and the build info.
// It builds neither the router nor the latency engine, and starts no
// group, so none reports ready.
func printCapabilities(args []string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig(args, stdout, stderr, exitUsage)
	if cfg == nil {
		return code
	}
	rt := lifecycle.New(capability.Instantiate(capability.Linked(), cfg.Group), capability.ReadBuildFacts(), cfg.MinimalMode)
	est := latency.Select(cfg.Latency.Compression, cfg.Latency.ReservoirSize).Info
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rt.Report(lifecycle.ReportInput{
		SafeMode:          cfg.SafeMode,
		IncludeTensorflow: cfg.IncludeTensorflow,
		Fallback:          est.Fallback,
		Estimator:         est,
	})); err != nil {
		fmt.Fprintf(stderr, "advanced-backend: %v\n", err)
		return exitFailed
	}
	return exitOK
}
