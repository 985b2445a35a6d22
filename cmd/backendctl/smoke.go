package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/ops/load"
	"github.com/advanced-backend/advanced-backend/internal/ops/probe"
	"github.com/advanced-backend/advanced-backend/internal/ops/smoke"
)

func runSmoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8070", "base URL of a running service")
	exe := fs.String("exe", "", "start this binary on --port first and smoke it")
	port := fs.Int("port", 8070, "loopback port for --exe")
	out := fs.String("out", "smoke_failures.json", "where to write the failures")
	timeout := fs.Duration("timeout", 10*time.Second, "per request")
	allowRemote := fs.Bool("allow-remote", false, "permit a non-loopback --url")
	tokenFile := fs.String("token-file", "", "file holding a user JWT, sent as a bearer token (group routes need one when auth is on)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	// smoke_failures.json is written whatever happens after the flags
	// parse: a target that is down or never starts is a failure to record.
	base := *url
	res := smoke.NewResult(base)
	finish := func(code int) int {
		data, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = writeFile(*out, append(data, '\n'))
		}
		if err != nil {
			fmt.Fprintf(stderr, "backendctl smoke: %v\n", err)
			return exitFailed
		}
		for _, f := range res.Failures {
			fmt.Fprintf(stdout, "FAIL %-22s %s %s: %s\n", f.Name, f.Method, f.Path, f.Detail)
		}
		fmt.Fprintf(stdout, "smoke: %s (%s): %d checked, %d failed; %s\n", res.Target, res.Variant, res.Checked, res.Failed, *out)
		return code
	}
	setup := func(name, detail string, code int) int {
		fmt.Fprintf(stderr, "backendctl smoke: %s\n", detail)
		res.Checked++
		res.Fail(smoke.Failure{Name: name, Detail: detail})
		return finish(code)
	}
	var token string
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return setup("token", fmt.Sprintf("read token: %v", err), exitUsage)
		}
		token = strings.TrimSpace(string(b))
	}
	if *exe != "" {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
		res.Target = "http://" + addr
		p, err := probe.Start(*exe, addr, nil)
		if err != nil {
			return setup("start", err.Error(), exitNotReady)
		}
		defer p.Stop(10 * time.Second)
		if _, err := p.WaitHealthy(ctx, 30*time.Second); err != nil {
			return setup("start", fmt.Sprintf("%v\n%s", err, p.Logs()), exitNotReady)
		}
		base = p.Base()
	} else if err := load.CheckTarget(base, *allowRemote); err != nil {
		return setup("target", err.Error(), exitUsage)
	}
	r, err := smoke.RunWithToken(ctx, base, *timeout, token)
	if err != nil {
		return setup("run", err.Error(), exitFailed)
	}
	res = r
	if res.Failed > 0 {
		return finish(exitFailed)
	}
	return finish(exitOK)
}
