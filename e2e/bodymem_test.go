package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// metric reads one unlabelled sample from the binary's /metrics.
func metric(t *testing.T, p *proc, name string) float64 {
	t.Helper()
	resp, err := http.Get(p.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestDeclaredBodiesCostNoMemory replays issue 20's pre-allocation attack
// on the full binary: 200 loopback connections declare Content-Length
// 1 MiB and send one byte. With every byte read (the body memory gauge says
// 200 bytes held), the heap (go_memstats_heap_alloc_bytes, no GC forced)
// has grown by less than 20 MiB; it grew about 200 MiB when /v1
// allocated the declared length. Then the same across the other routes
// that read a body. The fake upstream is internal/testkit/testllm (no LLM API is
// reachable here).
func TestDeclaredBodiesCostNoMemory(t *testing.T) {
	fake := testllm.Start(t)
	p := startBinary(t, buildVariant(t, "full"), append(llmEnv(fake), "LOG_LEVEL=warn")...)
	waitfor.True(t, 15*time.Second, "/ready 200", func() bool { return p.get(t, "GET", "/ready", nil) == 200 })
	addr := strings.TrimPrefix(p.Base, "http://")
	type target struct{ path, ctype, first string }
	rounds := [][]target{
		{{"/v1/chat/completions", "application/json", "{"}},
		{
			{"/v1/embeddings", "application/json", "{"},
			{"/api/v2/llm/chat", "application/json", "{"},
			{"/api/v2/vector/collections/c/points", "application/json", "{"},
			{"/api/v2/files/inspect", "multipart/form-data; boundary=XX", "-"},
			{"/api/v2/vector/collections/c/search", "application/json", "{"},
			{"/api/v2/ml/detect", "application/json", "{"},
		},
	}
	const conns = 200
	for _, round := range rounds {
		before := metric(t, p, "go_memstats_heap_alloc_bytes")
		var open []net.Conn
		for i := 0; i < conns; i++ {
			tg := round[i%len(round)]
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, c)
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", tg.path, tg.ctype, 1<<20, tg.first)
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
		}
		waitfor.True(t, 20*time.Second, "every connection's byte read", func() bool {
			return metric(t, p, "advanced_backend_request_body_bytes_in_flight") == conns
		})
		growth := metric(t, p, "go_memstats_heap_alloc_bytes") - before
		t.Logf("%d connections on %d route(s), each declaring 1 MiB and sending 1 byte: heap +%.2f MiB", conns, len(round), growth/(1<<20))
		if growth > 20<<20 {
			t.Errorf("heap grew %.1f MiB on %v, want < 20 MiB", growth/(1<<20), round)
		}
		for _, c := range open {
			c.Close()
		}
		waitfor.True(t, 20*time.Second, "the bodies released", func() bool {
			return metric(t, p, "advanced_backend_request_body_bytes_in_flight") == 0
		})
	}
}
