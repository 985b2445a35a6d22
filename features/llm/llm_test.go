package llm

// These tests run the group behind the real gin stack over loopback against
// internal/testkit/testllm, an in-process server that speaks the OpenAI and
// Anthropic wire protocols (JSON and SSE); no real LLM API is reachable here.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
)

func init() { gin.SetMode(gin.ReleaseMode) }

type rig struct {
	fake *testllm.Server
	base string
	reg  *prometheus.Registry
	svc  *groupapi.Services
	f    *feature
}

func loadConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	return grouptest.Config(t, "llm", Settings(), env)
}

// newRig starts a fake upstream and the llm group configured for it; extra
// environment entries override.
func newRig(t *testing.T, extra map[string]string) *rig {
	t.Helper()
	fake := testllm.Start(t)
	env := map[string]string{
		"OPENAI_BASE_URL":    fake.OpenAIBase(),
		"OPENAI_API_KEY":     fake.OpenAIKey,
		"OPENAI_MODEL":       "fake-gpt",
		"ANTHROPIC_BASE_URL": fake.URL,
		"ANTHROPIC_API_KEY":  fake.AnthropicK,
		"ANTHROPIC_MODEL":    "fake-claude",
		"LLM_RETRY_BACKOFF":  "1ms",
		"LLM_TIMEOUT":        "5s",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg := loadConfig(t, env)
	h, all := grouptest.Host(cfg, "llm")
	reg := prometheus.NewRegistry()
	h.Metrics = grouptest.Metrics(reg)
	r := &rig{fake: fake, reg: reg, svc: all, f: newFeature(cfg.Group("llm"))}
	r.base = grouptest.Mount(t, r.f, h)
	grouptest.Start(t, r.f)
	return r
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("not JSON (%d): %s", a.status, a.body)
	}
}

func (a answer) errorBody(t *testing.T) apierr.Detail {
	t.Helper()
	var b apierr.Body
	a.json(t, &b)
	return b.Error
}

func (r *rig) post(t *testing.T, path, body string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", r.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

type chatAnswer struct {
	Provider     string `json:"provider"`
	Model        string `json:"model"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	Usage        struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
		Total      int `json:"total_tokens"`
	} `json:"usage"`
	Cached bool `json:"cached"`
}

func TestChatBothProviders(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct {
		provider, model, endpoint string
		prompt                    int // the fake counts words; Anthropic's system turn is not a message
	}{
		{"", "fake-gpt", testllm.OpenAIChat, 5},
		{"openai", "fake-gpt", testllm.OpenAIChat, 5},
		{"anthropic", "fake-claude", testllm.AnthropicMessages, 3},
	} {
		t.Run("provider="+tc.provider, func(t *testing.T) {
			before := len(r.fake.Requests(tc.endpoint))
			a := r.post(t, "/api/v2/llm/chat", fmt.Sprintf(`{"provider":%q,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"say pong please"}],"max_tokens":50}`, tc.provider))
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.body)
			}
			var c chatAnswer
			a.json(t, &c)
			wantProv := tc.provider
			if wantProv == "" {
				wantProv = "openai"
			}
			if c.Provider != wantProv || c.Model != tc.model || c.Text != r.fake.Reply || c.FinishReason != "stop" || c.Cached {
				t.Fatalf("answer %+v", c)
			}
			if c.Usage.Prompt != tc.prompt || c.Usage.Completion != 5 || c.Usage.Total != tc.prompt+5 {
				t.Fatalf("usage %+v", c.Usage)
			}
			reqs := r.fake.Requests(tc.endpoint)
			if len(reqs) != before+1 {
				t.Fatalf("%d upstream calls", len(reqs)-before)
			}
			body := reqs[len(reqs)-1].Body
			if body["model"] != tc.model || body["max_tokens"] != float64(50) {
				t.Fatalf("upstream request %v", body)
			}
			if tc.endpoint == testllm.AnthropicMessages {
				// the system turn goes to the system parameter, not the messages
				if msgs := body["messages"].([]any); len(msgs) != 1 || body["system"] == nil {
					t.Fatalf("anthropic request %v", body)
				}
			}
		})
	}
}

// sseEvents reads an SSE body into its events ("data" payloads, with the
// event name when one was given).
type sseEvent struct{ event, data string }

func readSSE(t *testing.T, body io.Reader, onEvent func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(body)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
				if onEvent != nil && !onEvent(cur) {
					return out
				}
			}
			cur = sseEvent{}
		}
	}
	return out
}

func TestStreamOrderBothProviders(t *testing.T) {
	r := newRig(t, nil)
	for _, prov := range []string{"openai", "anthropic"} {
		t.Run(prov, func(t *testing.T) {
			req, _ := http.NewRequest("POST", r.base+"/api/v2/llm/chat",
				strings.NewReader(`{"provider":"`+prov+`","stream":true,"messages":[{"role":"user","content":"stream please"}]}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			evs := readSSE(t, resp.Body, nil)
			if len(evs) < 3 || evs[len(evs)-1].data != "[DONE]" {
				t.Fatalf("events %v", evs)
			}
			var text strings.Builder
			var deltas int
			for i, ev := range evs[:len(evs)-1] {
				var c struct {
					Delta        string `json:"delta"`
					FinishReason string `json:"finish_reason"`
					Usage        *struct {
						Prompt, Completion int
					} `json:"usage"`
				}
				if ev.event != "" || json.Unmarshal([]byte(ev.data), &c) != nil {
					t.Fatalf("event %d: %+v", i, ev)
				}
				last := i == len(evs)-2
				if last != (c.FinishReason != "") {
					t.Fatalf("finish_reason on event %d of %d: %+v", i, len(evs), ev)
				}
				if last {
					if c.FinishReason != "stop" || c.Usage == nil {
						t.Fatalf("final chunk %s", ev.data)
					}
					continue
				}
				deltas++
				text.WriteString(c.Delta)
			}
			if text.String() != r.fake.Reply || deltas != len(strings.Fields(r.fake.Reply)) {
				t.Fatalf("streamed %q in %d deltas", text.String(), deltas)
			}
		})
	}
}

func TestStreamClientCancelCancelsUpstream(t *testing.T) {
	r := newRig(t, nil)
	r.fake.ChunkDelay = 300 * time.Millisecond
	r.fake.Reply = strings.Repeat("word ", 50)
	for _, tc := range []struct{ prov, endpoint string }{{"openai", testllm.OpenAIChat}, {"anthropic", testllm.AnthropicMessages}} {
		t.Run(tc.prov, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", r.base+"/api/v2/llm/chat",
				strings.NewReader(`{"provider":"`+tc.prov+`","stream":true,"messages":[{"role":"user","content":"long answer"}]}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got := readSSE(t, resp.Body, func(sseEvent) bool { return false }) // stop after the first event
			if len(got) != 1 || !strings.Contains(got[0].data, "word") {
				t.Fatalf("first event %v", got)
			}
			cancel()
			resp.Body.Close()
			select {
			case ep := <-r.fake.Canceled():
				if ep != tc.endpoint {
					t.Fatalf("canceled %s", ep)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream call was not canceled after the client went away")
			}
		})
	}
}

func TestRetry429ThenSuccess(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct{ prov, endpoint string }{{"openai", testllm.OpenAIChat}, {"anthropic", testllm.AnthropicMessages}} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.prov, stream), func(t *testing.T) {
				before := len(r.fake.Requests(tc.endpoint))
				r.fake.Script(tc.endpoint, testllm.Step{Status: 429, RetryAfter: "0"}, testllm.Step{Status: 503})
				a := r.post(t, "/api/v2/llm/chat", fmt.Sprintf(`{"provider":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, tc.prov, stream))
				if a.status != 200 || !strings.Contains(string(a.body), "fake") {
					t.Fatalf("%d %s", a.status, a.body)
				}
				if n := len(r.fake.Requests(tc.endpoint)) - before; n != 3 {
					t.Fatalf("%d upstream calls, want 3 (429, 503, ok)", n)
				}
			})
		}
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_upstream_retries_total", map[string]string{"provider": "anthropic"}); v != 4 {
		t.Fatalf("anthropic retries counted %v, want 4", v)
	}
}

func TestUpstreamErrorsMapped(t *testing.T) {
	r := newRig(t, map[string]string{"LLM_MAX_RETRIES": "2", "LLM_TIMEOUT": "300ms"})
	for _, tc := range []struct {
		name     string
		endpoint string
		prov     string
		stream   bool
		steps    []testllm.Step
		status   int
		code     string
		calls    int
		msg      string
	}{
		{"500 exhausts retries", testllm.OpenAIChat, "openai", false, []testllm.Step{{Status: 500}, {Status: 500}, {Status: 500}}, 502, "upstream_error", 3, "answered 500"},
		{"500 anthropic", testllm.AnthropicMessages, "anthropic", false, []testllm.Step{{Status: 500}, {Status: 500}, {Status: 500}}, 502, "upstream_error", 3, "answered 500"},
		{"500 stream", testllm.OpenAIChat, "openai", true, []testllm.Step{{Status: 500}, {Status: 500}, {Status: 500}}, 502, "upstream_error", 3, "answered 500"},
		{"400 not retried", testllm.OpenAIChat, "openai", false, []testllm.Step{{Status: 400, Body: `{"error":{"message":"model does not exist","type":"invalid_request_error"}}`}}, 502, "upstream_error", 1, "answered 400: model does not exist"},
		{"400 anthropic", testllm.AnthropicMessages, "anthropic", false, []testllm.Step{{Status: 404, Body: `{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}`}}, 502, "upstream_error", 1, "answered 404: model: nope"},
		{"timeout", testllm.OpenAIChat, "openai", false, []testllm.Step{{Hang: true}}, 504, "upstream_timeout", 1, "timed out"},
		{"timeout anthropic", testllm.AnthropicMessages, "anthropic", false, []testllm.Step{{Hang: true}}, 504, "upstream_timeout", 1, "timed out"},
		{"timeout stream", testllm.AnthropicMessages, "anthropic", true, []testllm.Step{{Hang: true}}, 504, "upstream_timeout", 1, "timed out"},
		{"malformed JSON", testllm.OpenAIChat, "openai", false, []testllm.Step{{Body: `{"id":"x","choices":[{"mess`}}, 502, "upstream_malformed", 1, "malformed"},
		{"malformed JSON anthropic", testllm.AnthropicMessages, "anthropic", false, []testllm.Step{{Body: `{"id":"msg_1","type":"message",`}}, 502, "upstream_malformed", 1, "malformed"},
		{"wrong shape", testllm.OpenAIChat, "openai", false, []testllm.Step{{Body: `{"id":"x","choices":[]}`}}, 502, "upstream_malformed", 1, "no choices"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(r.fake.Requests(tc.endpoint))
			r.fake.Script(tc.endpoint, tc.steps...)
			a := r.post(t, "/api/v2/llm/chat", fmt.Sprintf(`{"provider":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, tc.prov, tc.stream))
			e := a.errorBody(t)
			if a.status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("%d %s, want %d %s %q", a.status, a.body, tc.status, tc.code, tc.msg)
			}
			if n := len(r.fake.Requests(tc.endpoint)) - before; n != tc.calls {
				t.Fatalf("%d upstream calls, want %d", n, tc.calls)
			}
			if tc.code == "upstream_error" && a.header.Get("X-Upstream-Status") == "" {
				t.Fatal("no X-Upstream-Status header")
			}
		})
	}
	// the hanging calls were canceled when the deadline passed
	for i := 0; i < 3; i++ {
		select {
		case <-r.fake.Canceled():
		case <-time.After(5 * time.Second):
			t.Fatalf("timed-out call %d was not canceled upstream", i)
		}
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_upstream_duration_seconds", map[string]string{"provider": "openai", "outcome": "timeout"}); v != 1 {
		t.Fatalf("timeout observations %v", v)
	}
}

func TestStreamBrokenMidway(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct{ prov, endpoint string }{{"openai", testllm.OpenAIChat}, {"anthropic", testllm.AnthropicMessages}} {
		t.Run(tc.prov, func(t *testing.T) {
			r.fake.Script(tc.endpoint, testllm.Step{BreakStreamAfter: 2})
			a := r.post(t, "/api/v2/llm/chat", `{"provider":"`+tc.prov+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.body)
			}
			evs := readSSE(t, strings.NewReader(string(a.body)), nil)
			last := evs[len(evs)-1]
			if len(evs) != 3 || last.event != "error" || !strings.Contains(last.data, "upstream_malformed") || strings.Contains(string(a.body), "[DONE]") {
				t.Fatalf("events %v", evs)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	r := newRig(t, map[string]string{"OPENAI_BASE_URL": dead})
	a := r.post(t, "/api/v2/llm/chat", `{"messages":[{"role":"user","content":"hi"}]}`)
	if e := a.errorBody(t); a.status != 503 || e.Code != "upstream_unreachable" {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

func TestBadRequests(t *testing.T) {
	r := newRig(t, map[string]string{"LLM_MAX_TOKENS": "100"})
	for body, want := range map[string]string{
		`{"messages":[]}`: "at least one",
		`{"messages":[{"role":"robot","content":"x"}]}`:                                                                          "role",
		`{"messages":[{"role":"user","content":""}]}`:                                                                            "must not be empty",
		`{"messages":[{"role":"user","content":"x"}],"max_tokens":101}`:                                                          "max_tokens: want 1 to 100",
		`{"messages":[{"role":"user","content":"x"}],"max_tokens":0}`:                                                            "max_tokens",
		`{"messages":[{"role":"user","content":"x"}],"temperature":2.5}`:                                                         "temperature",
		`{"messages":[{"role":"user","content":"x"}],"temperature":-1}`:                                                          "temperature",
		`{"provider":"mistral","messages":[{"role":"user","content":"x"}]}`:                                                      "unknown",
		`{"messages":[{"role":"user","content":"x"}],"extra":1}`:                                                                 "unknown field",
		`{"messages":` + `[` + strings.Repeat(`{"role":"user","content":"x"},`, maxMessages) + `{"role":"user","content":"x"}]}`: "at most 256",
		`{"input":[]}`: "unknown field",
	} {
		a := r.post(t, "/api/v2/llm/chat", body)
		if e := a.errorBody(t); a.status != 400 || !strings.Contains(e.Message, want) {
			t.Errorf("%.60s: %d %s, want %q", body, a.status, a.body, want)
		}
	}
	for body, want := range map[string]string{
		`{"input":[]}`:       "at least one",
		`{"input":["a",""]}`: "input[1]",
		`{"input":"a"}`:      "field input",
		`{"input":[` + strings.Repeat(`"a",`, maxEmbedInputs) + `"a"]}`: "at most 256",
	} {
		a := r.post(t, "/api/v2/llm/embeddings", body)
		if e := a.errorBody(t); a.status != 400 || !strings.Contains(e.Message, want) {
			t.Errorf("%.60s: %d %s, want %q", body, a.status, a.body, want)
		}
	}
	if n := len(r.fake.Requests(testllm.OpenAIChat)) + len(r.fake.Requests(testllm.OpenAIEmbeddings)); n != 0 {
		t.Fatalf("%d upstream calls for bad requests", n)
	}
}

func TestProviderWithoutCredentials(t *testing.T) {
	r := newRig(t, map[string]string{"ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": ""})
	st := r.f.Status()
	if st.Ready || !st.Degraded || !strings.Contains(st.Detail, "ANTHROPIC_API_KEY not set") || !strings.Contains(st.Detail, "OPENAI_API_KEY not set") {
		t.Fatalf("status %+v", st)
	}
	for path, body := range map[string]string{
		"/api/v2/llm/chat":       `{"provider":"anthropic","messages":[{"role":"user","content":"x"}]}`,
		"/api/v2/llm/embeddings": `{"input":["x"]}`,
	} {
		a := r.post(t, path, body)
		if e := a.errorBody(t); a.status != 503 || e.Code != "provider_not_ready" || !strings.Contains(e.Message, "_API_KEY not set") {
			t.Errorf("%s: %d %s", path, a.status, a.body)
		}
	}
	a := r.post(t, "/api/v2/llm/chat", `{"messages":[{"role":"user","content":"x"}]}`)
	if a.status != 503 || !strings.Contains(string(a.body), "no LLM provider is configured") {
		t.Fatalf("%d %s", a.status, a.body)
	}
	emb, ok := r.svc.Embedder.Get()
	if !ok || emb.Ready() {
		t.Fatal("embedder should be provided and not ready")
	}
}

// TestAnthropicIgnoresEnvironment sets the variables the Anthropic SDK
// reads by default to wrong values; the client must use only what it was
// given (its key as x-api-key, as the Anthropic API documents it, and no
// Authorization header).
func TestAnthropicIgnoresEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "wrong-key-from-env")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "wrong-token-from-env")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "X-From-Env: yes")
	r := newRig(t, nil)
	a := r.post(t, "/api/v2/llm/chat", `{"provider":"anthropic","messages":[{"role":"user","content":"hi"}]}`)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	reqs := r.fake.Requests(testllm.AnthropicMessages)
	h := reqs[len(reqs)-1].Header
	if h.Get("X-From-Env") != "" || h.Get("Authorization") != "" || h.Get("X-Api-Key") != r.fake.AnthropicK {
		t.Fatalf("headers from the environment leaked: %v", h)
	}
}

func TestEmbeddingsAndEmbedder(t *testing.T) {
	r := newRig(t, nil)
	a := r.post(t, "/api/v2/llm/embeddings", `{"input":["hello","world!"],"model":"fake-embed"}`)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var e embedResponse
	a.json(t, &e)
	if e.Object != "list" || e.Model != "fake-embed" || len(e.Data) != 2 || e.Data[1].Index != 1 || e.Cached {
		t.Fatalf("%+v", e)
	}
	if want := testllm.Vector("world!", 8); fmt.Sprint(e.Data[1].Embedding) != fmt.Sprint(want) {
		t.Fatalf("vector %v, want %v", e.Data[1].Embedding, want)
	}
	if got := r.fake.Requests(testllm.OpenAIEmbeddings); got[0].Body["model"] != "fake-embed" {
		t.Fatalf("upstream %v", got[0].Body)
	}
	emb, ok := r.svc.Embedder.Get()
	if !ok || !emb.Ready() {
		t.Fatal("embedder not provided or not ready")
	}
	vs, err := emb.Embed(context.Background(), []string{"abc"}, "")
	if err != nil || len(vs) != 1 || len(vs[0]) != 8 {
		t.Fatalf("%v %v", vs, err)
	}
	if got := r.fake.Requests(testllm.OpenAIEmbeddings); got[1].Body["model"] != "text-embedding-3-small" {
		t.Fatalf("default model: %v", got[1].Body)
	}
	if _, err := emb.Embed(context.Background(), nil, ""); err == nil {
		t.Fatal("empty input accepted")
	}
	// more inputs than one upstream call takes are sent in batches
	many := make([]string, maxEmbedInputs+3)
	for i := range many {
		many[i] = fmt.Sprintf("text %d", i)
	}
	before := len(r.fake.Requests(testllm.OpenAIEmbeddings))
	vs, err = emb.Embed(context.Background(), many, "")
	if err != nil || len(vs) != len(many) || fmt.Sprint(vs[maxEmbedInputs+2]) != fmt.Sprint(testllm.Vector(many[maxEmbedInputs+2], 8)) {
		t.Fatalf("batched: %d vectors, %v", len(vs), err)
	}
	if n := len(r.fake.Requests(testllm.OpenAIEmbeddings)) - before; n != 2 {
		t.Fatalf("%d upstream calls for %d inputs", n, len(many))
	}
}

// memCache is an in-memory groupapi.ResponseCache for the llm side of
// caching; the Redis-backed one is tested in the vector group.
type memCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	ttls []time.Duration
}

func (c *memCache) Get(_ context.Context, k string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok, nil
}

func (c *memCache) Set(_ context.Context, k string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
	c.ttls = append(c.ttls, ttl)
	return nil
}

func TestDeterministicCallsAreCached(t *testing.T) {
	r := newRig(t, map[string]string{"LLM_CACHE_TTL": "90s"})
	mc := &memCache{m: map[string][]byte{}}
	r.svc.Cache.Provide(mc)
	chat := func(body string) chatAnswer {
		a := r.post(t, "/api/v2/llm/chat", body)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		var c chatAnswer
		a.json(t, &c)
		return c
	}
	det := `{"temperature":0,"messages":[{"role":"user","content":"same question"}]}`
	if c := chat(det); c.Cached {
		t.Fatal("first call cached")
	}
	c := chat(det)
	if !c.Cached || c.Text != r.fake.Reply || c.Usage.Total == 0 {
		t.Fatalf("second call %+v", c)
	}
	if n := len(r.fake.Requests(testllm.OpenAIChat)); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
	// other messages, another provider, or a non-zero temperature miss
	chat(`{"temperature":0,"messages":[{"role":"user","content":"other question"}]}`)
	chat(`{"provider":"anthropic","temperature":0,"messages":[{"role":"user","content":"same question"}]}`)
	chat(`{"temperature":0.7,"messages":[{"role":"user","content":"same question"}]}`)
	chat(`{"temperature":0.7,"messages":[{"role":"user","content":"same question"}]}`)
	if n := len(r.fake.Requests(testllm.OpenAIChat)); n != 4 {
		t.Fatalf("%d upstream openai calls, want 4", n)
	}
	for i := 0; i < 2; i++ {
		a := r.post(t, "/api/v2/llm/embeddings", `{"input":["x"]}`)
		var e embedResponse
		a.json(t, &e)
		if e.Cached != (i == 1) {
			t.Fatalf("embeddings call %d cached=%v", i, e.Cached)
		}
	}
	if n := len(r.fake.Requests(testllm.OpenAIEmbeddings)); n != 1 {
		t.Fatalf("%d upstream embedding calls", n)
	}
	for _, ttl := range mc.ttls {
		if ttl != 90*time.Second {
			t.Fatalf("ttl %v", mc.ttls)
		}
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_cache_total", map[string]string{"op": "chat", "result": "hit"}); v != 1 {
		t.Fatalf("cache hits %v", v)
	}
}

func TestMetrics(t *testing.T) {
	r := newRig(t, nil)
	r.post(t, "/api/v2/llm/chat", `{"messages":[{"role":"user","content":"one two three"}]}`)
	r.post(t, "/api/v2/llm/chat", `{"provider":"anthropic","stream":true,"messages":[{"role":"user","content":"one two"}]}`)
	if v := counterValue(t, r.reg, "advanced_backend_llm_upstream_duration_seconds", map[string]string{"provider": "openai", "model": "fake-gpt", "outcome": "ok"}); v != 1 {
		t.Fatalf("openai ok observations %v", v)
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_upstream_duration_seconds", map[string]string{"provider": "anthropic", "model": "fake-claude", "outcome": "ok"}); v != 1 {
		t.Fatalf("anthropic ok observations %v", v)
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_tokens_total", map[string]string{"provider": "openai", "kind": "prompt"}); v != 3 {
		t.Fatalf("openai prompt tokens %v", v)
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_tokens_total", map[string]string{"provider": "anthropic", "kind": "completion"}); v != 5 {
		t.Fatalf("anthropic completion tokens %v", v)
	}
	// client-chosen model names do not grow the label set without bound
	for i := 0; i < maxModelLabels+5; i++ {
		r.f.metrics.model(fmt.Sprintf("m%d", i))
	}
	if got := r.f.metrics.model("yet-another"); got != "other" {
		t.Fatalf("model label %q", got)
	}
}

// counterValue sums a counter's value or a histogram's sample count over
// the series whose labels include want.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			if m.Counter != nil {
				sum += m.Counter.GetValue()
			}
			if m.Histogram != nil {
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
			n++
		}
	}
	return n == len(want)
}

// TestStreamTimeouts: LLM_TIMEOUT bounds each gap between chunks, and
// LLM_STREAM_MAX_DURATION the whole answer; either ends the stream with an
// error event and cancels the upstream call.
func TestStreamTimeouts(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"idle gap": {"LLM_TIMEOUT": "150ms"},
		"whole":    {"LLM_TIMEOUT": "5s", "LLM_STREAM_MAX_DURATION": "1s"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			r.fake.ChunkDelay = 400 * time.Millisecond
			r.fake.Reply = strings.Repeat("slow ", 20)
			a := r.post(t, "/api/v2/llm/chat", `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			evs := readSSE(t, strings.NewReader(string(a.body)), nil)
			if a.status != 200 || len(evs) < 2 || !strings.Contains(evs[0].data, "slow") {
				t.Fatalf("%d %v", a.status, evs)
			}
			last := evs[len(evs)-1]
			if last.event != "error" || !strings.Contains(last.data, "upstream_timeout") || len(evs) > 10 {
				t.Fatalf("%d events, last %+v", len(evs), last)
			}
			select {
			case <-r.fake.Canceled():
			case <-time.After(10 * time.Second):
				t.Fatal("upstream not canceled")
			}
		})
	}
}

func TestModelNameBound(t *testing.T) {
	r := newRig(t, nil)
	long := strings.Repeat("m", maxModelName+1)
	a := r.post(t, "/api/v2/llm/chat", `{"model":"`+long+`","messages":[{"role":"user","content":"x"}]}`)
	if a.status != 400 || !strings.Contains(string(a.body), "model: at most 200") {
		t.Fatalf("%d %s", a.status, a.body)
	}
	a = r.post(t, "/api/v2/llm/embeddings", `{"model":"`+long+`","input":["x"]}`)
	if a.status != 400 {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

func TestTemperatureReachesUpstream(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct{ prov, endpoint, temp string }{
		{"anthropic", testllm.AnthropicMessages, "0.3"},
		{"openai", testllm.OpenAIChat, "0.3"},
		{"openai", testllm.OpenAIChat, "0"}, // go-openai drops a plain 0; it must still be sent
	} {
		a := r.post(t, "/api/v2/llm/chat", `{"provider":"`+tc.prov+`","temperature":`+tc.temp+`,"messages":[{"role":"user","content":"x"}]}`)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		reqs := r.fake.Requests(tc.endpoint)
		got, ok := reqs[len(reqs)-1].Body["temperature"].(float64)
		if !ok || fmt.Sprintf("%.2f", got) != fmt.Sprintf("%.2f", mustFloat(tc.temp)) {
			t.Fatalf("%s temperature %s: upstream got %v", tc.prov, tc.temp, reqs[len(reqs)-1].Body["temperature"])
		}
	}
}

func mustFloat(s string) float64 {
	var f float64
	fmt.Sscan(s, &f)
	return f
}

// BenchmarkChatRoundTrip measures one non-streamed chat through the gin
// stack and the OpenAI adapter against the in-process upstream (loopback).
func BenchmarkChatRoundTrip(b *testing.B) {
	fake := testllm.Start(b)
	cfg := grouptest.Config(b, "llm", Settings(), map[string]string{"OPENAI_BASE_URL": fake.OpenAIBase(), "OPENAI_API_KEY": fake.OpenAIKey})
	f := newFeature(cfg.Group("llm"))
	h, _ := grouptest.Host(cfg, "llm")
	base := grouptest.Mount(b, f, h)
	grouptest.Start(b, f)
	body := `{"messages":[{"role":"user","content":"bench"}]}`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := http.Post(base+"/api/v2/llm/chat", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

// TestStatusShowsBaseURLWithoutCredentials: a base URL carrying userinfo or
// a query appears in the group's status (and so /ml-capabilities) without them.
func TestStatusShowsBaseURLWithoutCredentials(t *testing.T) {
	fake := testllm.Start(t)
	base := strings.Replace(fake.OpenAIBase(), "://", "://user:hunter2@", 1) + "?key=hunter2"
	cfg := grouptest.Config(t, "llm", Settings(), map[string]string{"OPENAI_BASE_URL": base, "OPENAI_API_KEY": "sk-hunter2"})
	f := newFeature(cfg.Group("llm"))
	h, _ := grouptest.Host(cfg, "llm")
	grouptest.Mount(t, f, h)
	grouptest.Start(t, f)
	st := f.Status()
	if !st.Ready || strings.Contains(st.Detail, "hunter2") || !strings.Contains(st.Detail, "REDACTED@") {
		t.Fatalf("status %+v", st)
	}
}
