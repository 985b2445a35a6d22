package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// call sends one request with an optional body and headers and decodes a
// JSON answer into v (when not nil).
func (p *proc) call(t *testing.T, method, path, body string, hdr map[string]string, v any) (int, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, val := range hdr {
		req.Header.Set(k, val)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header
}

func heartbeatHas(t *testing.T, p *proc, level, substr string) bool {
	t.Helper()
	var hb struct {
		Events []struct{ Level, Msg string }
	}
	p.call(t, "GET", "/startup/heartbeat?n=200", "", nil, &hb)
	for _, e := range hb.Events {
		if e.Level == level && strings.Contains(e.Msg, substr) {
			return true
		}
	}
	return false
}

// TestSecurityStackEndToEnd runs the lean binary in its three auth modes:
// JWT on (users file made with the binary's own hash-password), JWT not
// configured, and SAFE_MODE; and checks rate limiting over real HTTP.
func TestSecurityStackEndToEnd(t *testing.T) {
	bin := buildVariant(t, "lean")

	hashCmd := exec.Command(bin, "hash-password", "--cost", "4")
	hashCmd.Stdin = strings.NewReader("alice-pw\n")
	out, err := hashCmd.Output()
	if err != nil || !strings.HasPrefix(string(out), "$2a$04$") {
		t.Fatalf("hash-password: %v %q", err, out)
	}
	users := filepath.Join(t.TempDir(), "users.json")
	body := `{"users":[{"username":"alice","password_hash":"` + strings.TrimSpace(string(out)) + `","roles":["admin"]}]}`
	if err := os.WriteFile(users, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("jwt", func(t *testing.T) {
		p := startBinary(t, bin, "JWT_SECRET=e2e-secret-0123456789abcdef-0123456789", "USERS_FILE="+users, "JWT_ISSUER=e2e")
		var h, ph map[string]any
		p.call(t, "GET", "/health", "", nil, &h)
		p.call(t, "GET", "/__phase", "", nil, &ph)
		if h["auth"] != "jwt-hs256" || ph["auth"] != "jwt-hs256" || ph["admin_guard"] != "jwt (role admin)" || h["rate_limit"] != "local" {
			t.Fatalf("health %v phase %v", h, ph)
		}
		if !heartbeatHas(t, p, "info", "JWT auth on (HS256)") || !heartbeatHas(t, p, "info", "issues tokens for 1 users") {
			t.Fatal("heartbeat lacks the auth events")
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
		}
		code, hdr := p.call(t, "POST", "/auth/token", `{"username":"alice","password":"alice-pw"}`,
			map[string]string{"Content-Type": "application/json"}, &tok)
		if code != 200 || tok.TokenType != "bearer" || tok.ExpiresIn != 900 || strings.Count(tok.AccessToken, ".") != 2 || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("token: %d %+v", code, tok)
		}
		var e struct{ Error struct{ Code string } }
		if code, _ := p.call(t, "POST", "/auth/token", "username=alice&password=wrong",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, &e); code != 401 || e.Error.Code != "invalid_credentials" {
			t.Fatalf("wrong password: %d %+v", code, e)
		}
		if code, _ := p.call(t, "POST", "/auth/token", "username=mallory&password=alice-pw",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, &e); code != 401 || e.Error.Code != "invalid_credentials" {
			t.Fatalf("unknown user: %d %+v", code, e)
		}
		var metrics string
		{
			resp, err := http.Get(p.Base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
		}
		for _, want := range []string{`advanced_backend_auth_logins_total{result="issued"} 1`, `advanced_backend_auth_logins_total{result="failed"} 2`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("not configured", func(t *testing.T) {
		p := startBinary(t, bin, "USERS_FILE="+users)
		var h, ph map[string]any
		p.call(t, "GET", "/health", "", nil, &h)
		p.call(t, "GET", "/__phase", "", nil, &ph)
		if h["auth"] != "off (JWT not configured)" || ph["admin_guard"] != "loopback only" || h["rate_limit"] != "local" {
			t.Fatalf("health %v phase %v", h, ph)
		}
		if !heartbeatHas(t, p, "warn", "INIT: JWT not configured") || !heartbeatHas(t, p, "warn", "USERS_FILE is set but JWT is not configured") {
			t.Fatal("heartbeat lacks the unconfigured warnings")
		}
		if code, _ := p.call(t, "POST", "/auth/token", `{"username":"alice","password":"alice-pw"}`,
			map[string]string{"Content-Type": "application/json"}, nil); code != 503 {
			t.Fatalf("token with auth off: %d", code)
		}
		if !strings.Contains(p.Logs(), "JWT not configured") {
			t.Fatal("the warning is not in the process log")
		}
	})

	t.Run("safe mode", func(t *testing.T) {
		p := startBinary(t, bin, "SAFE_MODE=1", "JWT_SECRET=e2e-secret-0123456789abcdef-0123456789", "RATE_LIMIT_BURST=1", "RATE_LIMIT_RPS=0.001")
		var h, ph map[string]any
		p.call(t, "GET", "/health", "", nil, &h)
		p.call(t, "GET", "/__phase", "", nil, &ph)
		if h["auth"] != "off (SAFE_MODE)" || h["rate_limit"] != "off (SAFE_MODE)" || ph["auth"] != "off (SAFE_MODE)" {
			t.Fatalf("health %v phase %v", h, ph)
		}
		if !heartbeatHas(t, p, "warn", "INIT: SAFE_MODE active - auth and rate limiting skipped") {
			t.Fatal("heartbeat lacks the SAFE_MODE event")
		}
		for i := 0; i < 5; i++ {
			if code, hdr := p.call(t, "GET", "/ml-capabilities", "", nil, nil); code != 200 || hdr.Get("X-RateLimit-Limit") != "" {
				t.Fatalf("request %d under SAFE_MODE: %d %v", i, code, hdr)
			}
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		p := startBinary(t, bin, "RATE_LIMIT_BURST=3", "RATE_LIMIT_RPS=0.001")
		for i := 0; i < 3; i++ {
			if code, _ := p.call(t, "GET", "/ml-capabilities", "", nil, nil); code != 200 {
				t.Fatalf("request %d: %d", i, code)
			}
		}
		var e struct{ Error struct{ Code string } }
		code, hdr := p.call(t, "GET", "/ml-capabilities", "", nil, &e)
		if code != 429 || e.Error.Code != "rate_limited" || hdr.Get("Retry-After") == "" || hdr.Get("X-RateLimit-Limit") != "3" ||
			hdr.Get("X-RateLimit-Remaining") != "0" || hdr.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("4th: %d %v %+v", code, hdr, e)
		}
		for _, path := range []string{"/health", "/__phase", "/metrics", "/startup/heartbeat"} {
			if code, _ := p.call(t, "GET", path, "", nil, nil); code != 200 {
				t.Errorf("exempt %s: %d", path, code)
			}
		}
	})

	t.Run("bad configuration", func(t *testing.T) {
		for _, tc := range []struct {
			env  string
			exit int
			name string
		}{
			{"JWT_SECRET=short", 2, "JWT_SECRET"},
			{"TRUSTED_PROXIES=not-an-ip", 2, "TRUSTED_PROXIES"},
			{"JWT_PUBLIC_KEY_FILE=/nonexistent/pub.pem", 1, "JWT_PUBLIC_KEY_FILE"},
		} {
			cmd := exec.Command(bin, "serve")
			cmd.Env = []string{"ADDR=127.0.0.1:0", tc.env}
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != tc.exit || !strings.Contains(string(out), tc.name) {
				t.Errorf("%s: %v\n%s", tc.env, err, out)
			}
		}
		cmd := exec.Command(bin, "hash-password")
		cmd.Stdin = strings.NewReader(strings.Repeat("p", 80) + "\n")
		if err := cmd.Run(); err == nil {
			t.Error("hash-password accepted an 80-byte password")
		}
	})
}
