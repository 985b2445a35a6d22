package llm

// Request bodies on the /v1 gateway through the whole service (the real gin
// stack with core's middleware: read deadlines, size limits and the memory
// bound of bodies in flight) over loopback, against internal/testkit/testllm (the
// OpenAI and Anthropic wire protocols in process; no real LLM API is
// reachable here).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/service"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// fullStack runs the whole service with the llm group on loopback against
// a fake upstream; extra environment entries override. It returns the base
// URL and the service, and stops it when the test ends.
func fullStack(t *testing.T, extra map[string]string) (string, *service.Service) {
	t.Helper()
	fake := testllm.Start(t)
	env := map[string]string{
		"OPENAI_BASE_URL": fake.OpenAIBase(), "OPENAI_API_KEY": fake.OpenAIKey, "OPENAI_MODEL": "fake-gpt",
		"ANTHROPIC_BASE_URL": fake.URL, "ANTHROPIC_API_KEY": fake.AnthropicK, "ANTHROPIC_MODEL": "fake-claude",
		"LLM_TIMEOUT": "5s", "LOG_LEVEL": "error",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg := loadConfig(t, env)
	svc, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), map[string]groupapi.Feature{"llm": newFeature(cfg.Group("llm"))},
		capability.BuildFacts{Modules: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("service did not stop within 15 s")
		}
	})
	base := "http://" + ln.Addr().String()
	waitfor.True(t, 10*time.Second, "the llm group ready", func() bool {
		resp, err := http.Get(base + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base, svc
}

// openBody sends a request head declaring declared bytes and then sent;
// the rest never comes. Closed when the test ends; 20 s client deadline.
func openBody(t *testing.T, base, path string, declared int, sent string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, declared)
	if _, err := io.WriteString(c, head+sent); err != nil {
		t.Fatal(err)
	}
	return c
}

func openAIAnswer(t *testing.T, c net.Conn) (*http.Response, apierr.OpenAIBody) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b apierr.OpenAIBody
	if err := json.Unmarshal(raw, &b); err != nil || b.Error.Type == "" {
		t.Fatalf("%d, not an OpenAI error: %q", resp.StatusCode, raw)
	}
	return resp, b
}

// TestV1SlowBodyIs408: a body that trickles past HTTP_READ_TIMEOUT is 408
// body_timeout on /v1 as on every route, in OpenAI's shape (issue 20 item
// 6: it was 400 bad_body, which the SDKs do not retry).
func TestV1SlowBodyIs408(t *testing.T) {
	base, _ := fullStack(t, map[string]string{"HTTP_READ_TIMEOUT": "300ms"})
	for _, path := range []string{"/v1/chat/completions", "/v1/embeddings", "/api/v2/llm/chat"} {
		c := openBody(t, base, path, 500, `{"model":"fake-gpt","mess`)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: no answer: %v", path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(raw), `"code":"body_timeout"`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, raw)
		}
		if strings.HasPrefix(path, "/v1/") && !strings.Contains(string(raw), `"type":"invalid_request_error"`) {
			t.Errorf("%s: not OpenAI's shape: %s", path, raw)
		}
	}
}

// TestV1BodyMemoryExhausted: once the bodies in flight hold
// REQUEST_BODY_MEMORY_MAX_BYTES, a /v1 request gets 503 with Retry-After in
// OpenAI's error shape; after they end it is served.
func TestV1BodyMemoryExhausted(t *testing.T) {
	base, svc := fullStack(t, map[string]string{"MAX_BODY_BYTES": "8192", "REQUEST_BODY_MEMORY_MAX_BYTES": "8192"})
	budget := svc.Server().BodyBudget()
	hog := openBody(t, base, "/v1/chat/completions", 8192, `{"model":"fake-gpt","messages":[{"role":"user","content":"`+strings.Repeat("a", 8000))
	waitfor.True(t, 10*time.Second, "the hog's bytes held", func() bool { return budget.InUse() >= 8000 })
	body := `{"model":"fake-gpt","messages":[{"role":"user","content":"` + strings.Repeat("b", 300) + `"}]}`
	c := openBody(t, base, "/v1/chat/completions", len(body), body)
	resp, b := openAIAnswer(t, c)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
		b.Error.Code != "body_memory_exhausted" || b.Error.Type != "server_error" {
		t.Fatalf("over the bound: %d %v %+v", resp.StatusCode, resp.Header, b)
	}
	hog.Close()
	waitfor.True(t, 10*time.Second, "the budget released", func() bool { return budget.InUse() == 0 })
	resp2, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Fatalf("after release: %d", resp2.StatusCode)
	}
}

// TestV1DeclaredBodiesCostNoMemory: 200 connections each declare a 1 MiB
// body on /v1/chat/completions and send one byte; the heap grows by far less
// than 20 MiB while they wait (issue 20 item 3: each handler allocated the
// declared MiB before the bytes came, about 200 MiB). Heap measured
// in-process (runtime.ReadMemStats after a GC) once every connection's byte
// was read, which the body memory bound reports.
func TestV1DeclaredBodiesCostNoMemory(t *testing.T) {
	const conns = 200
	base, svc := fullStack(t, map[string]string{"RATE_LIMIT_RPS": "0"}) // 200 clients of one address
	budget := svc.Server().BodyBudget()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	open := make([]net.Conn, 0, conns)
	for i := 0; i < conns; i++ {
		open = append(open, openBody(t, base, "/v1/chat/completions", 1<<20, "{"))
	}
	waitfor.True(t, 20*time.Second, "every connection's byte read", func() bool { return budget.InUse() == conns })
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth with %d connections each declaring 1 MiB and sending 1 byte: %.2f MiB (%d bytes held in the body budget)",
		conns, float64(growth)/(1<<20), budget.InUse())
	if growth > 20<<20 {
		t.Fatalf("heap grew %.1f MiB for %d declared-but-unsent bodies, want < 20 MiB", float64(growth)/(1<<20), conns)
	}
	for _, c := range open {
		c.Close()
	}
	waitfor.True(t, 20*time.Second, "the bodies released", func() bool { return budget.InUse() == 0 })
}
