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

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
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

	// hybrid without a provider key: alive and ready, the llm group
	// degraded (its routes answer 503 naming the key), as issue 22 wants.
	hybrid := buildVariant(t, "hybrid")
	h := startBinary(t, hybrid)
	if code := h.get(t, "GET", "/health", nil); code != 200 {
		t.Fatalf("hybrid /health: %d", code)
	}
	var body readyBody
	waitReady(t, h, &body)
	if len(body.Degraded) != 1 || body.Degraded[0].Group != "llm" || !strings.Contains(body.Degraded[0].Detail, "API_KEY not set") {
		t.Fatalf("hybrid /ready without keys: %+v", body)
	}
	_, hport := hostPort(t, h.Base)
	if code, out := healthcheck(t, hybrid, "ADDR=127.0.0.1:"+hport); code != 0 {
		t.Errorf("healthcheck on a degraded service: exit %d\n%s", code, out)
	}
	// Required, the same llm makes the replica not ready: 503 naming it,
	// HEAD too, and healthcheck exits 1.
	hr := startBinary(t, hybrid, "READY_REQUIRE=llm")
	waitfor.True(t, 15*time.Second, "hybrid with READY_REQUIRE=llm reaches the runtime phase", func() bool {
		var hh map[string]any
		hr.get(t, "GET", "/health", &hh)
		return hh["phase"] == "runtime"
	})
	if code := hr.get(t, "GET", "/ready", &body); code != 503 || body.Status != "not_ready" || body.Error.Code != "not_ready" ||
		!strings.Contains(body.Error.Message, "required group llm is not ready") {
		t.Fatalf("hybrid /ready with llm required and no key: %d %+v", code, body)
	}
	resp, err := http.Head(hr.Base + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("HEAD /ready on hybrid with llm required: %d", resp.StatusCode)
	}
	_, rport := hostPort(t, hr.Base)
	if code, out := healthcheck(t, hybrid, "ADDR=127.0.0.1:"+rport); code != 1 || !strings.Contains(out, "llm") {
		t.Errorf("healthcheck on a service that is not ready: exit %d\n%s", code, out)
	}
	// A required group that this binary does not link is refused at start.
	if code, out := runExit(t, exec.Command(lean, "serve", "--ready-require=vector", "--addr=127.0.0.1:0"), 30*time.Second); code != 2 ||
		!strings.Contains(out, "READY_REQUIRE") || !strings.Contains(out, "not linked") {
		t.Errorf("lean with READY_REQUIRE=vector: exit %d\n%s", code, out)
	}
	if code, out := runExit(t, exec.Command(lean, "serve", "--ready-require=vektor", "--addr=127.0.0.1:0"), 30*time.Second); code != 2 ||
		!strings.Contains(out, `unknown group "vektor"`) {
		t.Errorf("lean with READY_REQUIRE=vektor: exit %d\n%s", code, out)
	}
}

// readyBody is /ready's answer.
type readyBody struct {
	Status   string                         `json:"status"`
	Required []string                       `json:"required"`
	Draining bool                           `json:"draining"`
	Degraded []groupNote                    `json:"degraded"`
	NotReady []groupNote                    `json:"not_ready"`
	Error    struct{ Code, Message string } `json:"error"`
}

type groupNote struct{ Group, Detail string }

// waitReady polls /ready (bounded) until it answers 200 and decodes it.
func waitReady(t *testing.T, p *proc, body *readyBody) {
	t.Helper()
	waitfor.True(t, 15*time.Second, p.Base+"/ready to answer 200", func() bool {
		*body = readyBody{}
		return p.get(t, "GET", "/ready", body) == 200
	})
}

// TestReadyWithRedisDown (issue 22): two prodapi replicas whose REDIS_URL
// names a loopback port where nothing listens serve with local limits, so
// each one's /ready is 200 listing vector as degraded, the degraded gauge
// is 1 and healthcheck exits 0; with READY_REQUIRE=vector the same replica
// is 503 and healthcheck exits 1. The full variant without an LLM key is
// ready with llm degraded.
func TestReadyWithRedisDown(t *testing.T) {
	prodapi := buildVariant(t, "prodapi")
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t)) // closed: nothing listens there
	env := []string{"REDIS_URL=" + redisURL, "REDIS_TIMEOUT=200ms", "REDIS_RETRY_INTERVAL=100ms"}
	for i := 1; i <= 2; i++ {
		p := startBinary(t, prodapi, append(env, fmt.Sprintf("REPLICA_ID=r%d", i))...)
		var body readyBody
		waitReady(t, p, &body)
		if body.Status != "ready" || len(body.Degraded) != 1 || body.Degraded[0].Group != "vector" ||
			!strings.Contains(body.Degraded[0].Detail, "local rate limits") {
			t.Fatalf("r%d /ready with Redis down: %+v", i, body)
		}
		if g := metricValue(t, p, `advanced_backend_group_degraded{group="vector"}`); g != 1 {
			t.Errorf("r%d: advanced_backend_group_degraded{group=\"vector\"} = %g, want 1", i, g)
		}
		var h map[string]any
		if p.get(t, "GET", "/health", &h); h["rate_limit"] != "shared (local fallback)" {
			t.Errorf("r%d /health rate_limit %v", i, h["rate_limit"])
		}
		_, port := hostPort(t, p.Base)
		if code, out := healthcheck(t, prodapi, "ADDR=127.0.0.1:"+port); code != 0 {
			t.Errorf("r%d healthcheck with Redis down: exit %d\n%s", i, code, out)
		}
	}

	req := startBinary(t, prodapi, append(env, "READY_REQUIRE=vector")...)
	poll(t, 15*time.Second, "/ready 503 with vector required and Redis down", func() (bool, string) {
		var body readyBody
		code := req.get(t, "GET", "/ready", &body)
		return code == 503 && strings.Contains(body.Error.Message, "required group vector is not ready") &&
			!strings.Contains(body.Error.Message, "starting"), fmt.Sprintf("%d %+v", code, body)
	})
	_, port := hostPort(t, req.Base)
	if code, out := healthcheck(t, prodapi, "ADDR=127.0.0.1:"+port); code != 1 || !strings.Contains(out, "vector") {
		t.Errorf("healthcheck with vector required and Redis down: exit %d\n%s", code, out)
	}

	full := startBinary(t, buildVariant(t, "full"))
	var body readyBody
	waitReady(t, full, &body)
	if len(body.Degraded) != 1 || body.Degraded[0].Group != "llm" {
		t.Fatalf("full without an LLM key: %+v", body)
	}
}
