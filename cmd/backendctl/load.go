package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/ops/load"
)

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var urls listFlag
	fs.Var(&urls, "url", "target URL (repeatable; positional arguments are URLs too)")
	duration := fs.Duration("duration", 10*time.Second, "total length: burst then steady")
	burst := fs.Duration("burst", -1, "length of the burst phase (default: a fifth of --duration)")
	conc := fs.Int("concurrency", 8, "concurrent workers")
	rps := fs.Int("rps", 50, "request rate cap of the steady phase (all workers)")
	rate := fs.Int("rate", 0, "fixed request rate of the steady phase, held on a schedule even when the machine is busy (overrides --rps)")
	maxReq := fs.Int("max-requests", 100000, "hard bound on requests")
	timeout := fs.Duration("timeout", 10*time.Second, "per request")
	out := fs.String("out", "load_test_summary.json", "where to write the summary")
	allowRemote := fs.Bool("allow-remote", false, "permit targets that are not on loopback")
	quiet := fs.Bool("quiet", false, "no progress lines")
	method := fs.String("method", "GET", "HTTP method of every request")
	body := fs.String("body", "", "request body; @file reads it from a file")
	var headers listHeaders
	fs.Var(&headers, "header", `request header "Name: value" (repeatable)`)
	minSuccess := fs.Float64("min-success", 0, "exit 1 when a URL's success rate (2xx/3xx share, 0-1) is below this")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: backendctl load [flags] URL [URL...]   (loopback targets unless --allow-remote)")
		fs.PrintDefaults()
	}
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	for _, a := range fs.Args() {
		_ = urls.Set(a)
	}
	if len(urls.values) == 0 { // no default target: loading a port by guess helps no one
		fmt.Fprintln(stderr, "backendctl load: no target URL")
		fs.Usage()
		return exitNotReady // 2, as the issue asks: "print the usage and exit 2"
	}
	if *minSuccess < 0 || *minSuccess > 1 {
		fmt.Fprintf(stderr, "backendctl load: --min-success %g out of range [0, 1]\n", *minSuccess)
		return exitUsage
	}
	if *burst < 0 {
		*burst = *duration / 5
	}
	opts := load.Options{URLs: urls.values, Duration: *duration, Burst: *burst, Concurrency: *conc,
		RPS: *rps, Rate: *rate, MaxRequests: *maxReq, Timeout: *timeout, AllowRemote: *allowRemote,
		Method: strings.ToUpper(*method), Header: headers.h}
	if b, err := readBody(*body); err != nil {
		fmt.Fprintf(stderr, "backendctl load: --body: %v\n", err)
		return exitUsage
	} else {
		opts.Body = b
	}
	if !*quiet {
		opts.Progress = stderr
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "backendctl load: %v\n", err)
		return exitUsage
	}
	sum, err := load.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "backendctl load: %v\n", err)
		return exitFailed
	}
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "backendctl load: %v\n", err)
		return exitFailed
	}
	if err := writeFile(*out, append(data, '\n')); err != nil {
		fmt.Fprintf(stderr, "backendctl load: %v\n", err)
		return exitFailed
	}
	for _, p := range sum.Phases {
		fmt.Fprintf(stdout, "phase %-6s %7d requests in %5.1fs (%.0f/s)\n", p.Name, p.Requests, p.Seconds, p.AchievedRPS)
	}
	var below []string
	for _, u := range sum.URLs {
		fmt.Fprintf(stdout, "%s: %d requests, %.1f%% ok, codes %v\n", u.URL, u.Requests, 100*u.SuccessRate, u.StatusCodes)
		for _, class := range sortedKeys(u.LatencyByClass) {
			q := u.LatencyByClass[class]
			fmt.Fprintf(stdout, "  %s: %d, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n", class, u.StatusClass[class], q.P50, q.P95, q.P99)
		}
		if u.SuccessRate < *minSuccess {
			below = append(below, fmt.Sprintf("%s %.1f%%", u.URL, 100*u.SuccessRate))
		}
	}
	fmt.Fprintf(stdout, "load: %d requests, %.1f%% ok; %s\n", sum.Total.Requests, 100*sum.Total.SuccessRate, *out)
	if sum.Total.Requests == 0 || sum.Total.Succeeded == 0 {
		return exitFailed
	}
	if len(below) > 0 {
		fmt.Fprintf(stderr, "backendctl load: success below --min-success %g: %s\n", *minSuccess, strings.Join(below, ", "))
		return exitFailed
	}
	return exitOK
}

// listHeaders collects --header "Name: value" flags.
type listHeaders struct{ h http.Header }

func (l *listHeaders) String() string { return fmt.Sprint(l.h) }

func (l *listHeaders) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", s)
	}
	if l.h == nil {
		l.h = http.Header{}
	}
	l.h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// readBody is the --body value: literal, or @file (bounded).
func readBody(v string) ([]byte, error) {
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, load.MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > load.MaxBodyBytes {
		return nil, fmt.Errorf("%s is over %d bytes", path, load.MaxBodyBytes)
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
