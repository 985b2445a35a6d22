// Package opssmoke replays a fixed set of requests against a running
// service: the core endpoints, and for every group what /ml-capabilities
// says about it (a linked, enabled group must serve its routes; an unlinked
// one must answer 501, a disabled one 503). It reports every failure.
package opssmoke

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capability"
)

// Case is one request and what its answer must look like.
type Case struct {
	Name   string
	Method string
	Path   string
	Status int
	// JSON requires a JSON body; ErrorCode requires {"error":{"code":...}}.
	JSON      bool
	ErrorCode string
	// Contains is a substring the body must hold.
	Contains string
	// Check, when set, inspects the decoded JSON body.
	Check func(body map[string]any) error
}

// CoreCases are the endpoints every variant serves (see README's table).
func CoreCases() []Case {
	return []Case{
		{Name: "health", Method: "GET", Path: "/health", Status: 200, JSON: true, Check: func(b map[string]any) error {
			if b["status"] != "ok" {
				return fmt.Errorf("status is %v, not ok", b["status"])
			}
			return nil
		}},
		{Name: "phase", Method: "GET", Path: "/__phase", Status: 200, JSON: true, Check: hasKeys("phase", "variant", "build_tags")},
		{Name: "capabilities", Method: "GET", Path: "/ml-capabilities", Status: 200, JSON: true,
			Check: hasKeys("heavy_dependencies", "variant", "groups", "consistency")},
		{Name: "heartbeat", Method: "GET", Path: "/startup/heartbeat?n=5", Status: 200, JSON: true},
		{Name: "heartbeat bad n", Method: "GET", Path: "/startup/heartbeat?n=abc", Status: 400, JSON: true},
		{Name: "metrics", Method: "GET", Path: "/metrics", Status: 200, Contains: "advanced_backend_build_info"},
		{Name: "dashboard", Method: "GET", Path: "/executive_dashboard.html", Status: 200, Contains: "<html"},
		{Name: "unknown path", Method: "GET", Path: "/smoke/no-such-path", Status: 404, ErrorCode: "not_found"},
		{Name: "wrong method", Method: "POST", Path: "/health", Status: 405, ErrorCode: "method_not_allowed"},
	}
}

// GroupCases are the requests of one group given its state in
// /ml-capabilities. A linked and enabled group's prefixes must not answer
// 501/503 or a 5xx; group owners add their endpoints to groupEndpoints.
func GroupCases(g capability.GroupSpec, linked, enabled bool) []Case {
	var out []Case
	for _, p := range g.RoutePrefixes {
		path := strings.TrimSuffix(p, "/") + "/smoke-probe"
		switch {
		case !linked:
			out = append(out, Case{Name: g.Name + " not linked", Method: "GET", Path: path, Status: 501, ErrorCode: "group_not_linked"})
		case !enabled:
			out = append(out, Case{Name: g.Name + " disabled", Method: "GET", Path: path, Status: 503, ErrorCode: "group_disabled"})
		default:
			// Linked and on: the prefix is the group's; an unknown path
			// under it is a plain 404, never 501/503.
			out = append(out, Case{Name: g.Name + " mounted", Method: "GET", Path: path, Status: 404, ErrorCode: "not_found"})
		}
	}
	if linked && enabled {
		out = append(out, groupEndpoints[g.Name]...)
	}
	return out
}

// groupEndpoints lists requests a linked, enabled group answers without
// credentials or upstream services, by group. Each group's owner adds its
// read-only endpoints here as they are built.
var groupEndpoints = map[string][]Case{}

// Failure is one case that did not pass.
type Failure struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Want   int    `json:"want_status"`
	Got    int    `json:"got_status"`
	Detail string `json:"detail"`
}

// Result is smoke_failures.json.
type Result struct {
	Target   string    `json:"target"`
	Variant  string    `json:"variant"`
	Checked  int       `json:"checked"`
	Failed   int       `json:"failed"`
	Failures []Failure `json:"failures"`
}

// Run fetches /ml-capabilities from base, builds the case list and runs
// every case once, sequentially.
func Run(ctx context.Context, base string, timeout time.Duration) (*Result, error) {
	client := &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base = strings.TrimSuffix(base, "/")
	var caps struct {
		Variant string `json:"variant"`
		Groups  map[string]struct {
			Linked  bool `json:"linked"`
			Enabled bool `json:"enabled"`
		} `json:"groups"`
	}
	code, body, err := do(ctx, client, "GET", base+"/ml-capabilities")
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("/ml-capabilities answered %d", code)
	}
	if err := json.Unmarshal(body, &caps); err != nil {
		return nil, fmt.Errorf("decode /ml-capabilities: %w", err)
	}
	cases := CoreCases()
	for _, g := range capability.Groups() {
		st, ok := caps.Groups[g.Name]
		if !ok {
			return nil, fmt.Errorf("/ml-capabilities does not report group %s", g.Name)
		}
		cases = append(cases, GroupCases(g, st.Linked, st.Enabled)...)
	}
	res := &Result{Target: base, Variant: caps.Variant, Failures: []Failure{}}
	for _, c := range cases {
		res.Checked++
		if f := runCase(ctx, client, base, c); f != nil {
			res.Failures = append(res.Failures, *f)
		}
	}
	res.Failed = len(res.Failures)
	return res, nil
}

func runCase(ctx context.Context, client *http.Client, base string, c Case) *Failure {
	fail := func(got int, format string, a ...any) *Failure {
		return &Failure{Name: c.Name, Method: c.Method, Path: c.Path, Want: c.Status, Got: got, Detail: fmt.Sprintf(format, a...)}
	}
	code, body, err := do(ctx, client, c.Method, base+c.Path)
	if err != nil {
		return fail(0, "%v", err)
	}
	if code != c.Status {
		return fail(code, "status %d, want %d: %s", code, c.Status, clip(body))
	}
	if c.Contains != "" && !strings.Contains(string(body), c.Contains) {
		return fail(code, "body lacks %q", c.Contains)
	}
	if !c.JSON && c.ErrorCode == "" && c.Check == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return fail(code, "body is not a JSON object: %s", clip(body))
	}
	if c.ErrorCode != "" {
		e, _ := m["error"].(map[string]any)
		if e == nil || e["code"] != c.ErrorCode {
			return fail(code, "error code is not %q: %s", c.ErrorCode, clip(body))
		}
	}
	if c.Check != nil {
		if err := c.Check(m); err != nil {
			return fail(code, "%v", err)
		}
	}
	return nil
}

func hasKeys(keys ...string) func(map[string]any) error {
	return func(m map[string]any) error {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("body lacks %q", k)
			}
		}
		return nil
	}
}

func do(ctx context.Context, client *http.Client, method, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("request %s %s: %w", method, url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read %s %s: %w", method, url, err)
	}
	return resp.StatusCode, body, nil
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
