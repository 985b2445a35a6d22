package e2e

// Measurements of the /v1 gateway (reports, not timed assertions): what the
// gateway adds at a fixed request rate, and 1,000 concurrent slow streams in
// bounded memory. The upstream is internal/testkit/testllm in this test process (no
// real LLM API is reachable here).

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/ops/load"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
)

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// 1,000 concurrent streams through the gateway, each paced by the slow
// upstream (5 chunks, 200 ms apart): every one completes with its [DONE],
// and the binary's peak RSS stays under 100 MB.
func TestV1ThousandSlowStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	fake := testllm.Start(t)
	fake.ChunkDelay = 200 * time.Millisecond
	p := startBinary(t, buildVariant(t, "hybrid"), append(llmEnv(fake), "LLM_MAX_RETRIES=0")...)
	const streams = 1000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan string, streams)
	start := time.Now()
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prov := []string{"openai/fake-gpt", "anthropic/fake-claude"}[i%2]
			resp, err := client.Post(p.Base+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"`+prov+`","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			var last string
			var text strings.Builder
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if l := sc.Text(); l != "" {
					last = l
					if strings.Contains(l, `"content":"`) {
						text.WriteString(".")
					}
				}
			}
			if resp.StatusCode != 200 || last != "data: [DONE]" {
				errs <- fmt.Sprintf("%s: status %d, last line %q", prov, resp.StatusCode, last)
			}
		}()
	}
	wg.Wait()
	close(errs)
	elapsed := time.Since(start)
	n := 0
	for e := range errs {
		if n < 5 {
			t.Error(e)
		}
		n++
	}
	if n > 0 {
		t.Fatalf("%d of %d streams failed\n%s", n, streams, p.Logs())
	}
	rss := peakRSS(t, p.cmd.Process.Pid)
	t.Logf("%d concurrent slow streams (5 chunks 200 ms apart) completed in %s; gateway peak RSS (VmHWM) %.1f MB",
		streams, elapsed.Round(10*time.Millisecond), float64(rss)/(1<<20))
	if rss >= 100<<20 {
		t.Fatalf("peak RSS %.1f MB, bound 100 MB", float64(rss)/(1<<20))
	}
}

// TestV1GatewayLoadReport runs `backendctl load` at a fixed rate against the
// fake upstream directly and through the gateway in one run (the URLs
// alternate, so each gets half the rate) and logs the added p50/p99. It is
// a report (GATEWAY_LOAD_REPORT=1, see BUILD.md), not part of make test:
// it saturates a small machine for its duration.
func TestV1GatewayLoadReport(t *testing.T) {
	if os.Getenv("GATEWAY_LOAD_REPORT") == "" {
		t.Skip("set GATEWAY_LOAD_REPORT=1 to run the gateway load report")
	}
	rate := 2000 // total, so 1,000 req/s per URL
	if v := os.Getenv("GATEWAY_LOAD_RATE"); v != "" {
		rate, _ = strconv.Atoi(v)
	}
	fake := testllm.Start(t)
	p := startBinary(t, buildVariant(t, "hybrid"), append(llmEnv(fake), "RATE_LIMIT_RPS=0", "LOG_LEVEL=warn")...)
	dir := t.TempDir()
	out := filepath.Join(dir, "summary.json")
	code, text := runCtl(t, dir, nil, "load", "--quiet", "--burst", "0", "--duration", "20s",
		"--rate", strconv.Itoa(rate), "--concurrency", "128", "--max-requests", "1000000", "--timeout", "5s",
		"--method", "POST", "--header", "Authorization: Bearer "+fake.OpenAIKey, "--header", "Content-Type: application/json",
		"--body", `{"model":"fake-gpt","messages":[{"role":"user","content":"load"}]}`,
		"--out", out, fake.OpenAIBase()+"/chat/completions", p.Base+"/v1/chat/completions")
	if code != 0 {
		t.Fatalf("backendctl load: %d\n%s", code, text)
	}
	var sum load.Summary
	readJSON(t, out, &sum)
	if len(sum.URLs) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	direct, gw := sum.URLs[0], sum.URLs[1]
	for _, u := range sum.URLs {
		if u.SuccessRate != 1 {
			t.Errorf("%s: success rate %.4f, classes %v", u.URL, u.SuccessRate, u.StatusClass)
		}
	}
	t.Logf("backendctl load, %d req/s total for %.0fs (achieved %.0f/s):\n%s", rate, sum.Seconds, sum.Phases[len(sum.Phases)-1].AchievedRPS, text)
	t.Logf("direct  p50 %.3f ms  p99 %.3f ms", direct.LatencyMS.P50, direct.LatencyMS.P99)
	t.Logf("gateway p50 %.3f ms  p99 %.3f ms", gw.LatencyMS.P50, gw.LatencyMS.P99)
	t.Logf("added   p50 %.3f ms  p99 %.3f ms", gw.LatencyMS.P50-direct.LatencyMS.P50, gw.LatencyMS.P99-direct.LatencyMS.P99)
}
