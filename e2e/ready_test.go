package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// healthcheck runs `bin healthcheck` with the given environment (no
// other) and returns its exit code and output.
func healthcheck(t *testing.T, bin string, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, "healthcheck")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	return runExit(t, cmd, 30*time.Second)
}

func hostPort(t *testing.T, base string) (string, string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), u.Port()
}

// TestReadyAndHealthcheck: /health is liveness, /ready readiness, both
// answer HEAD; `healthcheck` reads ADDR like serve and exits 0 only when
// the service there is ready. A wildcard ADDR is probed on loopback.
func TestReadyAndHealthcheck(t *testing.T) {
	lean := buildVariant(t, "lean")
	p := startBinary(t, lean)
	_, port := hostPort(t, p.Base)

	var ready map[string]any
	if code := p.get(t, "GET", "/ready", &ready); code != 200 || ready["status"] != "ready" {
		t.Fatalf("lean /ready: %d %v", code, ready)
	}
	for _, path := range []string{"/health", "/ready"} {
		resp, err := http.Head(p.Base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("HEAD %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}

	for _, addr := range []string{"127.0.0.1:" + port, "0.0.0.0:" + port, ":" + port} {
		if code, out := healthcheck(t, lean, "ADDR="+addr); code != 0 || !strings.Contains(out, "ready") {
			t.Errorf("healthcheck ADDR=%s on a ready service: exit %d\n%s", addr, code, out)
		}
	}
	// The same settings as serve: the flag overrides the environment.
	cmd := exec.Command(lean, "healthcheck", "--addr=127.0.0.1:"+port)
	cmd.Env = []string{"ADDR=127.0.0.1:1"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("healthcheck --addr over ADDR: %v\n%s", err, out)
	}

	// Nothing listening: exit 1, naming the address.
	closed := fmt.Sprint(freePort(t))
	if code, out := healthcheck(t, lean, "ADDR=127.0.0.1:"+closed); code != 1 || !strings.Contains(out, closed) {
		t.Errorf("healthcheck on a closed port: exit %d\n%s", code, out)
	}
	// Bad settings: exit 1 too (Docker reserves 2).
	if code, out := healthcheck(t, lean, "ADDR=nonsense"); code != 1 {
		t.Errorf("healthcheck with a bad ADDR: exit %d\n%s", code, out)
	}

	// hybrid without a provider key: alive, but the llm group is not ready.
	h := startBinary(t, buildVariant(t, "hybrid"))
	var body struct {
		Status   string `json:"status"`
		NotReady []struct {
			Group, Detail string
		} `json:"not_ready"`
		Error struct{ Code, Message string } `json:"error"`
	}
	if code := h.get(t, "GET", "/health", nil); code != 200 {
		t.Fatalf("hybrid /health: %d", code)
	}
	if code := h.get(t, "GET", "/ready", &body); code != 503 || body.Status != "not_ready" || len(body.NotReady) != 1 ||
		body.NotReady[0].Group != "llm" || body.Error.Code != "not_ready" || !strings.Contains(body.Error.Message, "llm") {
		t.Fatalf("hybrid /ready without keys: %d %+v", code, body)
	}
	resp, err := http.Head(h.Base + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("HEAD /ready on hybrid: %d", resp.StatusCode)
	}
	_, hport := hostPort(t, h.Base)
	if code, out := healthcheck(t, buildVariant(t, "hybrid"), "ADDR=127.0.0.1:"+hport); code != 1 || !strings.Contains(out, "llm") {
		t.Errorf("healthcheck on a service that is not ready: exit %d\n%s", code, out)
	}
}
