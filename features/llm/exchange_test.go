package llm

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
)

// TestSurfacesShareOneClient: the same chat put through /api/v2/llm and
// through /v1 reaches each provider as the same request, headers and body,
// streamed or not: both surfaces go through the provider's one client (and,
// for Anthropic, the one translation). Before, /api/v2/llm went through the
// SDKs, which sent other headers and bodies than the gateway's RoundTrip.
func TestSurfacesShareOneClient(t *testing.T) {
	r := newRig(t, nil)
	const msgs = `"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"say pong"}]`
	for _, tc := range []struct{ prov, model, endpoint string }{
		{"openai", "fake-gpt", testllm.OpenAIChat},
		{"anthropic", "fake-claude", testllm.AnthropicMessages},
	} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.prov, stream), func(t *testing.T) {
				streamField := ""
				if stream {
					streamField = `"stream":true,`
				}
				v2 := r.post(t, "/api/v2/llm/chat", fmt.Sprintf(`{"provider":%q,"model":%q,%s"temperature":0.5,"max_tokens":50,%s}`, tc.prov, tc.model, streamField, msgs))
				v1 := r.post(t, "/v1/chat/completions", fmt.Sprintf(`{"model":%q,%s"temperature":0.5,"max_tokens":50,%s}`, tc.prov+"/"+tc.model, streamField, msgs))
				if v2.status != 200 || v1.status != 200 {
					t.Fatalf("v2 %d %s\nv1 %d %s", v2.status, v2.body, v1.status, v1.body)
				}
				reqs := r.fake.Requests(tc.endpoint)
				a, b := reqs[len(reqs)-2], reqs[len(reqs)-1]
				if !reflect.DeepEqual(a.Body, b.Body) {
					t.Errorf("bodies differ:\n/api/v2/llm %v\n/v1         %v", a.Body, b.Body)
				}
				if ha, hb := withoutLength(a.Header), withoutLength(b.Header); !reflect.DeepEqual(ha, hb) {
					t.Errorf("headers differ:\n/api/v2/llm %v\n/v1         %v", ha, hb)
				}
				if a.Header.Get("Authorization") != "Bearer "+r.fake.OpenAIKey && a.Header.Get("X-Api-Key") != r.fake.AnthropicK {
					t.Errorf("no key: %v", a.Header)
				}
				if stream && (!strings.Contains(string(v2.body), "[DONE]") || !strings.Contains(string(v1.body), "[DONE]")) {
					t.Errorf("streams not complete:\n%s\n%s", v2.body, v1.body)
				}
			})
		}
	}
}

func withoutLength(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Content-Length")
	return h
}

// TestAnthropicRefusalsOnBothSurfaces: what the Anthropic translation
// cannot put to the Messages API is a 400 on /api/v2/llm as on /v1, and
// the upstream never sees it.
func TestAnthropicRefusalsOnBothSurfaces(t *testing.T) {
	r := newRig(t, nil)
	before := len(r.fake.Requests(testllm.AnthropicMessages))
	for body, want := range map[string]string{
		`{"provider":"anthropic","temperature":1.5,"messages":[{"role":"user","content":"x"}]}`:  "temperature: Anthropic accepts 0 to 1",
		`{"provider":"anthropic","messages":[{"role":"system","content":"only a system turn"}]}`: "at least one user or assistant message",
	} {
		a := r.post(t, "/api/v2/llm/chat", body)
		if e := a.errorBody(t); a.status != 400 || e.Code != "bad_request" || !strings.Contains(e.Message, want) {
			t.Errorf("%s: %d %s, want 400 %q", body, a.status, a.body, want)
		}
	}
	if n := len(r.fake.Requests(testllm.AnthropicMessages)) - before; n != 0 {
		t.Fatalf("%d upstream calls for refused requests", n)
	}
}
