package e2e

// Real variant binaries against an in-process OpenAI/Anthropic wire server
// (internal/testkit/testllm: no real LLM API is reachable here) and a real
// redis-server (internal/testkit/testredis).

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

func (p *proc) sendJSON(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, p.Base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func llmEnv(fake *testllm.Server) []string {
	return []string{"SAFE_MODE=1",
		"OPENAI_BASE_URL=" + fake.OpenAIBase(), "OPENAI_API_KEY=" + fake.OpenAIKey, "OPENAI_MODEL=fake-gpt",
		"ANTHROPIC_BASE_URL=" + fake.URL, "ANTHROPIC_API_KEY=" + fake.AnthropicK, "ANTHROPIC_MODEL=fake-claude",
		"OPENAI_EMBEDDING_MODEL=fake-embed"}
}

func groupState(t *testing.T, p *proc, group string) (linked, ready bool, detail string) {
	t.Helper()
	var caps capsReport
	if code := p.get(t, "GET", "/ml-capabilities", &caps); code != 200 {
		t.Fatal(code)
	}
	g := caps.Groups[group]
	return g.Linked, g.Ready, g.Detail
}

func TestLLMRoutesPerVariant(t *testing.T) {
	fake := testllm.Start(t)
	for _, spec := range groupspec.Variants() {
		v := struct {
			name   string
			linked bool
		}{spec.Name, slices.Contains(spec.Groups, "llm")}
		t.Run(v.name, func(t *testing.T) {
			p := startBinary(t, buildVariant(t, v.name), llmEnv(fake)...)
			linked, _, _ := groupState(t, p, "llm")
			if linked != v.linked {
				t.Fatalf("llm linked=%v", linked)
			}
			code, body := p.sendJSON(t, "POST", "/api/v2/llm/chat", `{"messages":[{"role":"user","content":"ping"}]}`)
			if !v.linked {
				if code != 501 || !strings.Contains(body, "group llm is not linked into the "+v.name+" variant") {
					t.Fatalf("%d %s", code, body)
				}
				return
			}
			if code != 200 || !strings.Contains(body, fake.Reply) || !strings.Contains(body, `"provider":"openai"`) {
				t.Fatalf("chat: %d %s", code, body)
			}
			code, body = p.sendJSON(t, "POST", "/api/v2/llm/chat", `{"provider":"anthropic","stream":true,"messages":[{"role":"user","content":"ping"}]}`)
			if code != 200 || !strings.HasPrefix(body, "data: ") || !strings.HasSuffix(body, "data: [DONE]\n\n") || !strings.Contains(body, `"finish_reason":"stop"`) {
				t.Fatalf("anthropic stream: %d %q", code, body)
			}
			code, body = p.sendJSON(t, "POST", "/api/v2/llm/embeddings", `{"input":["a","b"]}`)
			if code != 200 || !strings.Contains(body, `"model":"fake-embed"`) {
				t.Fatalf("embeddings: %d %s", code, body)
			}
			_, ready, detail := groupState(t, p, "llm")
			if !ready || !strings.Contains(detail, "openai: ready") {
				t.Fatalf("llm ready=%v %s", ready, detail)
			}
			var metrics string
			_, metrics = p.sendJSON(t, "GET", "/metrics", "")
			for _, m := range []string{
				`advanced_backend_llm_upstream_duration_seconds_count{model="fake-gpt",outcome="ok",provider="openai"} 1`,
				`advanced_backend_llm_tokens_total{kind="completion",model="fake-claude",provider="anthropic"}`,
			} {
				if !strings.Contains(metrics, m) {
					t.Errorf("metrics lack %s", m)
				}
			}
		})
	}
}

func TestVectorRoutesPerVariant(t *testing.T) {
	fake := testllm.Start(t)
	for _, spec := range groupspec.Variants() {
		v := struct {
			name   string
			linked bool
			llm    bool
		}{spec.Name, slices.Contains(spec.Groups, "vector"), slices.Contains(spec.Groups, "llm")}
		t.Run(v.name, func(t *testing.T) {
			p := startBinary(t, buildVariant(t, v.name), llmEnv(fake)...)
			linked, ready, detail := groupState(t, p, "vector")
			if linked != v.linked {
				t.Fatalf("vector linked=%v", linked)
			}
			if linked { // the embedded index opens its data directory after /health answers
				waitVectorReady(t, p)
				_, ready, detail = groupState(t, p, "vector")
			}
			base := "/api/v2/vector/collections/e2e"
			code, body := p.sendJSON(t, "PUT", base, `{"size":8,"distance":"cosine"}`)
			if !v.linked {
				if code != 501 || !strings.Contains(body, "group vector is not linked into the "+v.name+" variant") {
					t.Fatalf("%d %s", code, body)
				}
				return
			}
			if !ready || !strings.Contains(detail, "embedded durable index at") {
				t.Fatalf("vector ready=%v %s", ready, detail)
			}
			if code != 201 {
				t.Fatalf("create: %d %s", code, body)
			}
			vec := func(s string) string { b, _ := json.Marshal(testllm.Vector(s, 8)); return string(b) }
			code, body = p.sendJSON(t, "POST", base+"/points", `[{"id":1,"vector":`+vec("aaaa")+`,"payload":{"w":"a"}},{"id":2,"vector":`+vec("zzzz")+`}]`)
			if code != 200 {
				t.Fatalf("upsert: %d %s", code, body)
			}
			code, body = p.sendJSON(t, "POST", base+"/search", `{"vector":`+vec("aaab")+`,"limit":1}`)
			if code != 200 || !strings.HasPrefix(body, `[{"id":1,`) {
				t.Fatalf("search: %d %s", code, body)
			}
			code, body = p.sendJSON(t, "POST", base+"/search", `{"vector":[1,0],"limit":1}`)
			if code != 400 || !strings.Contains(body, "dimension") {
				t.Fatalf("dimension mismatch: %d %s", code, body)
			}
			// text goes through the llm group's embedder when it is linked
			code, body = p.sendJSON(t, "POST", base+"/search", `{"text":"zzzy","limit":1}`)
			if v.llm {
				if code != 200 || !strings.HasPrefix(body, `[{"id":2,`) {
					t.Fatalf("text search in %s: %d %s", v.name, code, body)
				}
			} else if code != 400 || !strings.Contains(body, "llm group is not linked") {
				t.Fatalf("text search in %s: %d %s", v.name, code, body)
			}
		})
	}
}

// TestFullWithRedis runs the full variant against a real Redis: the vector
// group is ready, the llm group's deterministic answers are cached there,
// and killing Redis falls back (chat still served, group not ready) and
// recovers.
func TestFullWithRedis(t *testing.T) {
	fake := testllm.Start(t)
	rs := testredis.Start(t)
	// a generous REDIS_TIMEOUT: a loaded test machine must not look like a dead Redis
	env := append(llmEnv(fake), "REDIS_URL="+rs.URL, "REDIS_RETRY_INTERVAL=50ms", "REDIS_TIMEOUT=500ms")
	p := startBinary(t, buildVariant(t, "full"), env...)
	waitVector := func(want bool) string {
		t.Helper()
		var detail string
		if _, err := waitfor.Poll(15*time.Second, func() (struct{}, bool) {
			var ready bool
			_, ready, detail = groupState(t, p, "vector")
			return struct{}{}, ready == want
		}); err != nil {
			t.Fatalf("vector ready, want %v: %v: %s", want, err, detail)
		}
		return detail
	}
	waitVector(true)
	chat := `{"temperature":0,"messages":[{"role":"user","content":"cache me"}]}`
	for i, want := range []string{`"cached":false`, `"cached":true`} {
		code, body := p.sendJSON(t, "POST", "/api/v2/llm/chat", chat)
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("call %d: %d %s", i, code, body)
		}
	}
	if n := len(fake.Requests(testllm.OpenAIChat)); n != 1 {
		t.Fatalf("%d upstream calls for two identical deterministic chats", n)
	}
	// the /v1 gateway caches its deterministic answers in the same Redis
	for i, want := range []string{"", "hit"} {
		req, _ := http.NewRequest("POST", p.Base+"/v1/chat/completions",
			strings.NewReader(`{"model":"anthropic/fake-claude","temperature":0,"messages":[{"role":"user","content":"cache me"}]}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Gateway-Cache") != want || !strings.Contains(string(b), `"object":"chat.completion"`) {
			t.Fatalf("/v1 call %d: %d %v %s", i, resp.StatusCode, resp.Header, b)
		}
	}
	if n := len(fake.Requests(testllm.AnthropicMessages)); n != 1 {
		t.Fatalf("%d anthropic calls for two identical deterministic /v1 chats", n)
	}
	rs.Kill()
	detail := waitVector(false)
	if !strings.Contains(detail, "cache bypassed") {
		t.Fatalf("detail %s", detail)
	}
	code, body := p.sendJSON(t, "POST", "/api/v2/llm/chat", chat)
	if code != 200 || !strings.Contains(body, `"cached":false`) {
		t.Fatalf("chat with Redis down: %d %s", code, body)
	}
	_, metrics := p.sendJSON(t, "GET", "/metrics", "")
	if !strings.Contains(metrics, "advanced_backend_redis_up 0") || !strings.Contains(metrics, `advanced_backend_redis_state_changes_total{to="down"} 1`) {
		t.Fatal("redis metrics do not show the fallback")
	}
	var hb struct {
		Events []struct{ Msg string } `json:"events"`
	}
	p.get(t, "GET", "/startup/heartbeat?n=200", &hb)
	found := false
	for _, ev := range hb.Events {
		found = found || strings.Contains(ev.Msg, "REDIS: unreachable")
	}
	if !found {
		t.Fatalf("no fallback phase event in %+v", hb.Events)
	}
	rs.Restart()
	waitVector(true)
	code, body = p.sendJSON(t, "POST", "/api/v2/llm/chat", chat)
	if code != 200 || !strings.Contains(body, `"cached":false`) { // a fresh Redis is empty
		t.Fatalf("after recovery: %d %s", code, body)
	}
	code, body = p.sendJSON(t, "POST", "/api/v2/llm/chat", chat)
	if code != 200 || !strings.Contains(body, `"cached":true`) {
		t.Fatalf("cache after recovery: %d %s", code, body)
	}
}
