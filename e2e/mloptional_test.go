package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// send makes a request with an optional JSON body and admin token and
// decodes the JSON answer.
func (p *proc) send(t testing.TB, method, path, contentType string, body io.Reader, adminToken string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, p.Base+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if adminToken != "" {
		req.Header.Set("X-Admin-Token", adminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func errorMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// A 1x1 PNG.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// TestUnlinkedGroupSettingsOnLean: a setting of a group the binary does not
// link is handled the same way for every group: the start-up log names it,
// its group and the variant, /__phase lists it (never its value), and
// STRICT_SETTINGS=1 refuses it with exit 2.
func TestUnlinkedGroupSettingsOnLean(t *testing.T) {
	for _, tc := range []struct{ variant, name, group, value string }{
		{"lean", "QDRANT_URL", "vector", "http://user:hunter2@127.0.0.1:6334"},
		{"lean", "OPENAI_API_KEY", "llm", "sk-hunter2"},
		{"lean", "REGISTRY_FILE", "optional", "/nonexistent/hunter2.yaml"},
		{"hybrid", "REGISTRY_FILE", "optional", "/nonexistent/hunter2.yaml"},
	} {
		bin := buildVariant(t, tc.variant)
		p := startBinary(t, bin, tc.name+"="+tc.value)
		var ph struct {
			Ignored []map[string]string `json:"ignored_settings"`
		}
		if code := p.get(t, "GET", "/__phase", &ph); code != 200 || len(ph.Ignored) != 1 ||
			ph.Ignored[0]["name"] != tc.name || ph.Ignored[0]["group"] != tc.group || ph.Ignored[0]["variant"] != tc.variant {
			t.Fatalf("%s %s: /__phase %d %+v", tc.variant, tc.name, code, ph.Ignored)
		}
		if err := p.Stop(t); err != nil {
			t.Fatal(err)
		}
		logs := p.Logs()
		if !strings.Contains(logs, tc.name+" is ignored: it belongs to the "+tc.group+" group, which is not linked into the "+tc.variant+" variant") ||
			strings.Contains(logs, "hunter2") {
			t.Fatalf("%s %s: log\n%s", tc.variant, tc.name, logs)
		}

		cmd := exec.Command(bin, "serve")
		cmd.Env = []string{"ADDR=127.0.0.1:0", "STRICT_SETTINGS=1", tc.name + "=" + tc.value}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.name+" belongs to the "+tc.group+" group, which is not linked into the "+tc.variant+" variant") ||
			strings.Contains(string(out), "hunter2") {
			t.Fatalf("%s %s strict: want exit 2 naming the setting, group and variant, got %v\n%s", tc.variant, tc.name, err, out)
		}
	}
}

func TestMLAndFilesOnFullAnd501OnLean(t *testing.T) {
	full := startBinary(t, buildVariant(t, "full"), "SAFE_MODE=1")
	code, m := full.send(t, "POST", "/api/v2/ml/detect", "application/json",
		strings.NewReader(`{"series":[10,11,9,10,12,10,95,11,10,9,10],"method":"mad"}`), "")
	if idx, _ := m["indices"].([]any); code != 200 || len(idx) != 1 || idx[0].(float64) != 6 {
		t.Fatalf("detect: %d %v", code, m)
	}
	code, m = full.send(t, "POST", "/api/v2/ml/detect", "application/json", strings.NewReader(`{"series":[1,"NaN",3]}`), "")
	if code != 400 || !strings.Contains(errorMessage(m), "series[1]") {
		t.Fatalf("NaN: %d %v", code, m)
	}

	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("file", "innocent.txt")
	part.Write(tinyPNG)
	w.Close()
	code, m = full.send(t, "POST", "/api/v2/files/inspect", w.FormDataContentType(), &body, "")
	files, _ := m["files"].([]any)
	if code != 200 || len(files) != 1 {
		t.Fatalf("inspect: %d %v", code, m)
	}
	f := files[0].(map[string]any)
	if f["mime"] != "image/png" || f["extension"] != ".txt" || f["extension_matches"] != false || f["size"].(float64) != float64(len(tinyPNG)) {
		t.Fatalf("inspect: %v", f)
	}

	lean := startBinary(t, buildVariant(t, "lean"), "SAFE_MODE=1")
	for _, path := range []string{"/api/v2/ml/detect", "/api/v2/files/inspect", "/admin/registry/reload"} {
		code, m := lean.send(t, "POST", path, "application/json", strings.NewReader(`{}`), "")
		if code != 501 || !strings.Contains(errorMessage(m), "not linked into the lean variant") {
			t.Errorf("lean %s: %d %v", path, code, m)
		}
	}
}

// TestRegistryReloadBySIGHUP runs the full binary with a registry file,
// switches groups with it, and reloads it by signal and by HTTP; a broken
// file is rejected with line and field and the previous state stays.
func TestRegistryReloadBySIGHUP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("groups:\n  ml: {enabled: false, reason: e2e maintenance}\n")
	const token = "e2e-admin"
	// No SAFE_MODE and no JWT key: auth is off, admin routes take the token,
	// and rate limiting is on (generous, so the polling below is not limited).
	p := startBinary(t, buildVariant(t, "full"), "ADMIN_RESET_TOKEN="+token, "REGISTRY_FILE="+path,
		"RATE_LIMIT_RPS=1000", "RATE_LIMIT_BURST=1000")
	detect := func() (int, map[string]any) {
		return p.send(t, "POST", "/api/v2/ml/detect", "application/json", strings.NewReader(`{"series":[1,2,3,50]}`), "")
	}
	loads := func() float64 {
		_, v := p.send(t, "GET", "/admin/registry", "", nil, token)
		n, _ := v["loads"].(float64)
		return n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		waitfor.True(t, 10*time.Second, what, cond)
	}
	// The group starts after /health answers: wait for the first load.
	waitFor("the registry to load at start", func() bool { return loads() == 1 })
	code, m := detect()
	if code != 503 || !strings.Contains(errorMessage(m), "e2e maintenance") {
		t.Fatalf("ml switched off by the registry: %d %v", code, m)
	}

	// A broken file and SIGHUP: rejected, ml stays off.
	write("groups:\n  ml:\n    enabled: maybe\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the rejection", func() bool {
		_, v := p.send(t, "GET", "/admin/registry", "", nil, token)
		le, _ := v["last_error"].(map[string]any)
		return le != nil && le["trigger"] == "hangup" && le["line"].(float64) == 3 && le["field"] == "groups.ml.enabled"
	})
	if code, _ := detect(); code != 503 {
		t.Fatalf("a rejected file changed the groups: %d", code)
	}
	if !strings.Contains(p.Logs(), "rejected (hangup)") || !strings.Contains(p.Logs(), "line 3") {
		t.Fatalf("the rejection is not in the log:\n%s", p.Logs())
	}

	// A good file and SIGHUP: ml is back, with a tight limit of its own.
	write("groups:\n  ml: {enabled: true}\n  vector: {enabled: false}\n" +
		"rate_limits:\n  \"POST /api/v2/ml/detect\": {rps: 0.001, burst: 2}\n" +
		"slo:\n  \"POST /api/v2/ml/detect\": {p95_ms: 5000}\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the reload by SIGHUP", func() bool { return loads() == 2 })
	for i := 0; i < 2; i++ {
		if code, m := detect(); code != 200 {
			t.Fatalf("ml after reload, request %d: %d %v", i+1, code, m)
		}
	}
	if code, m := detect(); code != 429 {
		t.Fatalf("third request within the override's burst of 2: %d %v", code, m)
	}
	_, v := p.send(t, "GET", "/admin/registry", "", nil, token)
	if a, _ := v["applied"].(map[string]any); !strings.HasPrefix(a["rate_limits"].(string), "1 overrides set on the rate limiter") ||
		!strings.HasPrefix(a["slo"].(string), "1 targets set on the latency engine") {
		t.Fatalf("applied: %v", v["applied"])
	}
	// The latency engine reports the SLO target next to the route's p95.
	var q struct {
		Routes map[string]map[string]any `json:"routes"`
	}
	p.get(t, "GET", "/api/v2/latency/quantiles", &q)
	if r := q.Routes["POST /api/v2/ml/detect"]; r["slo_p95_ms"] != 5000.0 || r["slo_met"] != true {
		t.Fatalf("SLO target not in the latency engine: %v", r)
	}
	var caps capsReport
	p.get(t, "GET", "/ml-capabilities", &caps)
	if caps.Groups["vector"].Enabled || !caps.Groups["ml"].Enabled || !caps.Groups["optional"].Ready {
		t.Fatalf("capabilities after reload: %+v", caps.Groups)
	}

	// HTTP reload is admin-only and answers with line and field.
	write("{\n  \"groups\": {\n    \"gpu\": {\"enabled\": false}\n  }\n}\n")
	if code, _ := p.send(t, "POST", "/admin/registry/reload", "", nil, ""); code != 401 {
		t.Fatalf("reload without token: %d", code)
	}
	code, m = p.send(t, "POST", "/admin/registry/reload", "", nil, token)
	if code != 400 || !strings.Contains(errorMessage(m), "line 3") || !strings.Contains(errorMessage(m), "field groups.gpu") {
		t.Fatalf("bad reload: %d %v", code, m)
	}
	if code, _ := detect(); code != 429 {
		t.Fatalf("the rejected reload dropped the rate-limit override: %d", code)
	}
	// Remove the override again: ml answers.
	write("groups:\n  ml: {enabled: true}\n")
	if code, _ := p.send(t, "POST", "/admin/registry/reload", "", nil, token); code != 200 {
		t.Fatalf("reload: %d", code)
	}
	if code, _ := detect(); code != 200 {
		t.Fatalf("ml after the override was removed: %d", code)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
}
