// Package smoke replays a fixed set of requests against a running
// service: the core endpoints, and for every group what /ml-capabilities
// says about it (a linked, enabled group must serve its routes; an unlinked
// one must answer 501, a disabled one 503). It reports every failure.
package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// Case is one request and what its answer must look like.
type Case struct {
	Name   string
	Method string
	Path   string
	Status int
	// Body and ContentType, when set, are sent with the request.
	Body        string
	ContentType string
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
			Check: all(hasKeys("heavy_dependencies", "variant", "groups", "consistency"), seedShape(seedCapabilities))},
		{Name: "heartbeat", Method: "GET", Path: "/startup/heartbeat?n=5", Status: 200, JSON: true, Check: seedShape(seedHeartbeat)},
		{Name: "heartbeat bad n", Method: "GET", Path: "/startup/heartbeat?n=abc", Status: 400, JSON: true},
		{Name: "metrics", Method: "GET", Path: "/metrics", Status: 200, Contains: "advanced_backend_build_info"},
		{Name: "dashboard", Method: "GET", Path: "/executive_dashboard.html", Status: 200, Contains: "<html"},
		{Name: "latency quantiles", Method: "GET", Path: "/api/v2/latency/quantiles", Status: 200, JSON: true,
			Check: hasKeys("unit", "window_seconds", "overall", "routes")},
		{Name: "latency quantiles bad q", Method: "GET", Path: "/api/v2/latency/quantiles?q=1.5", Status: 400, ErrorCode: "bad_quantile"},
		{Name: "latency distribution", Method: "GET", Path: "/api/v2/latency/distribution", Status: 200, JSON: true,
			Check: hasKeys("bucket_edges_ms", "overall", "routes")},
		{Name: "unknown path", Method: "GET", Path: "/smoke/no-such-path", Status: 404, ErrorCode: "not_found"},
		{Name: "wrong method", Method: "POST", Path: "/health", Status: 405, ErrorCode: "method_not_allowed"},
	}
}

// GroupCases are the requests of one group given its state in
// /ml-capabilities. A linked and enabled group's prefixes must not answer
// 501/503 or a 5xx; its own requests are the smoke cases of its
// description (features/groupdesc), so a new group brings its own.
func GroupCases(g groupspec.Group, linked, enabled bool) []Case {
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
		for _, sc := range g.Smoke {
			c := Case{Name: sc.Name, Method: sc.Method, Path: sc.Path, Status: sc.Status, Body: sc.Body,
				ContentType: sc.ContentType, JSON: sc.JSON, ErrorCode: sc.ErrorCode, Contains: sc.Contains}
			if len(sc.Keys) > 0 {
				c.JSON, c.Check = true, hasKeys(sc.Keys...)
			}
			out = append(out, c)
		}
	}
	return out
}

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

// RunWithToken fetches /ml-capabilities from base, builds the case list
// and runs every case once, sequentially, with the bearer token (if any)
// on every request (group routes need a user token when JWT auth is on).
func RunWithToken(ctx context.Context, base string, timeout time.Duration, token string) (*Result, error) {
	client := &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base = strings.TrimSuffix(base, "/")
	var caps capreport.Report
	res := NewResult(base)
	cases := CoreCases()
	if err := readCapabilities(ctx, client, base, token, &caps); err != nil {
		// Without the report the group cases cannot be chosen; the core
		// cases still run, so the file says what the target does answer.
		res.Checked++
		res.Fail(Failure{Name: "group cases", Method: "GET", Path: "/ml-capabilities", Want: 200,
			Detail: "cannot tell which groups are linked, group cases skipped: " + err.Error()})
	} else {
		res.Variant = caps.Variant
		for _, g := range groupspec.Groups() {
			st, ok := caps.Groups[g.Name]
			if !ok {
				res.Checked++
				res.Fail(Failure{Name: g.Name + " cases", Method: "GET", Path: "/ml-capabilities", Want: 200,
					Detail: "/ml-capabilities does not report group " + g.Name})
				continue
			}
			cases = append(cases, GroupCases(g, st.Linked, st.Enabled)...)
		}
	}
	for _, c := range cases {
		res.Checked++
		if f := runCase(ctx, client, base, token, c); f != nil {
			res.Fail(*f)
		}
	}
	return res, nil
}

// readCapabilities fetches and decodes /ml-capabilities into v.
func readCapabilities(ctx context.Context, client *http.Client, base, token string, v any) error {
	code, body, err := do(ctx, client, Case{Method: "GET", Path: "/ml-capabilities"}, base, token)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("/ml-capabilities answered %d: %s", code, clip(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode /ml-capabilities: %w", err)
	}
	return nil
}

// NewResult is an empty result for target.
func NewResult(target string) *Result {
	return &Result{Target: target, Variant: "unknown", Failures: []Failure{}}
}

// Fail records a failure.
func (r *Result) Fail(f Failure) {
	r.Failures = append(r.Failures, f)
	r.Failed = len(r.Failures)
}

func runCase(ctx context.Context, client *http.Client, base, token string, c Case) *Failure {
	fail := func(got int, format string, a ...any) *Failure {
		return &Failure{Name: c.Name, Method: c.Method, Path: c.Path, Want: c.Status, Got: got, Detail: fmt.Sprintf(format, a...)}
	}
	code, body, err := do(ctx, client, c, base, token)
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

// The seed's documented fields and their JSON types ("null|bool": null
// while unset); clients of the Python service parse these.
var (
	seedCapabilities = map[string]string{"minimal_mode": "bool", "safe_mode": "bool", "include_tensorflow_flag": "null|bool",
		"heavy_dependencies": "object", "tdigest_fallback": "bool", "tdigest_tracked_endpoints": "array"}
	seedHeartbeat = map[string]string{"events": "array", "count": "number", "uptime_seconds": "number", "minimal_mode": "bool", "safe_mode": "bool"}
	seedHeavyKeys = []string{"torch", "sklearn", "langchain", "openai", "anthropic", "tensorflow"}
)

// seedShape checks that each field is present with its seed JSON type, and
// that heavy_dependencies (when checked) holds the seed's keys as booleans.
func seedShape(fields map[string]string) func(map[string]any) error {
	return func(m map[string]any) error {
		for k, want := range fields {
			v, ok := m[k]
			if !ok {
				return fmt.Errorf("seed field %q missing", k)
			}
			if got := jsonType(v); !slices.Contains(strings.Split(want, "|"), got) {
				return fmt.Errorf("seed field %q is %s, want %s", k, got, want)
			}
		}
		if _, ok := fields["heavy_dependencies"]; ok {
			heavy := m["heavy_dependencies"].(map[string]any)
			for _, k := range seedHeavyKeys {
				if _, ok := heavy[k].(bool); !ok {
					return fmt.Errorf("heavy_dependencies.%s is %s, want bool", k, jsonType(heavy[k]))
				}
			}
		}
		return nil
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func all(checks ...func(map[string]any) error) func(map[string]any) error {
	return func(m map[string]any) error {
		for _, c := range checks {
			if err := c(m); err != nil {
				return err
			}
		}
		return nil
	}
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

func do(ctx context.Context, client *http.Client, c Case, base, token string) (int, []byte, error) {
	method, url := c.Method, base+c.Path
	var reqBody io.Reader
	if c.Body != "" {
		reqBody = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reqBody)
	if err != nil {
		return 0, nil, fmt.Errorf("request %s %s: %w", method, url, err)
	}
	if c.ContentType != "" {
		req.Header.Set("Content-Type", c.ContentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
