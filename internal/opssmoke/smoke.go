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
// 501/503 or a 5xx; group owners add their endpoints to groupEndpoints.
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
		out = append(out, groupEndpoints[g.Name]...)
	}
	return out
}

// groupEndpoints lists requests a linked, enabled group answers without
// upstream services and without changing state, by group. When JWT auth is
// on they need a user token (backendctl smoke --token).
var groupEndpoints = map[string][]Case{
	"ml": {
		{Name: "ml detect", Method: "POST", Path: "/api/v2/ml/detect", Status: 200, ContentType: "application/json",
			Body:  `{"series":[10,11,9,10,12,10,95,11,10,9,10],"method":"mad"}`,
			Check: wantIndices(6)},
		{Name: "ml detect NaN", Method: "POST", Path: "/api/v2/ml/detect", Status: 400, ContentType: "application/json",
			Body: `{"series":[1,"NaN",3],"method":"mad"}`, JSON: true},
		{Name: "ml anomalies", Method: "GET", Path: "/api/v2/ml/anomalies", Status: 200, JSON: true, Check: hasKeys("routes")},
	},
	"llm": {
		{Name: "llm providers", Method: "GET", Path: "/api/v2/llm/providers", Status: 200, JSON: true},
		{Name: "llm chat bad JSON", Method: "POST", Path: "/api/v2/llm/chat", Status: 400, ContentType: "application/json",
			Body: `{"messages":`, JSON: true},
		{Name: "llm /v1 models", Method: "GET", Path: "/v1/models", Status: 200, JSON: true, Check: hasKeys("object", "data")},
		{Name: "llm /v1 chat bad JSON", Method: "POST", Path: "/v1/chat/completions", Status: 400, ContentType: "application/json",
			Body: `{"messages":`, ErrorCode: "invalid_json"},
	},
	"vector": {
		{Name: "vector unknown collection", Method: "GET", Path: "/api/v2/vector/collections/backendctl-smoke-absent",
			Status: 404, ErrorCode: "collection_not_found"},
		{Name: "vector search unknown collection", Method: "POST", Path: "/api/v2/vector/collections/backendctl-smoke-absent/search",
			Status: 404, ContentType: "application/json", Body: `{"vector":[1,0],"limit":1}`, ErrorCode: "collection_not_found"},
	},
	"optional": {
		{Name: "files inspect", Method: "POST", Path: "/api/v2/files/inspect", Status: 200,
			ContentType: "multipart/form-data; boundary=" + smokeBoundary, Body: smokeUpload, Contains: "image/png"},
	},
}

// smokeUpload is a multipart body with a 1x1 PNG named .txt: inspection
// must tell it by content.
const smokeBoundary = "backendctl-smoke-boundary"

var smokeUpload = "--" + smokeBoundary + "\r\n" +
	`Content-Disposition: form-data; name="file"; filename="pixel.txt"` + "\r\n" +
	"Content-Type: text/plain\r\n\r\n" +
	"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\xdacd\xf8\xcf\x50\x0f\x00\x03\x86\x01\x80Z4}k\x00\x00\x00\x00IEND\xaeB`\x82" +
	"\r\n--" + smokeBoundary + "--\r\n"

// wantIndices checks a detect answer flags exactly the given indices.
func wantIndices(want ...int) func(map[string]any) error {
	return func(m map[string]any) error {
		got, _ := m["indices"].([]any)
		if len(got) != len(want) {
			return fmt.Errorf("indices %v, want %v", m["indices"], want)
		}
		for i, w := range want {
			if f, ok := got[i].(float64); !ok || int(f) != w {
				return fmt.Errorf("indices %v, want %v", m["indices"], want)
			}
		}
		return nil
	}
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
