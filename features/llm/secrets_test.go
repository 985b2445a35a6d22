package llm

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
)

// withUserInfo puts user:password into a base URL.
func withUserInfo(base, user, pass string) string {
	return strings.Replace(base, "://", "://"+user+":"+pass+"@", 1)
}

// TestCredentialsNeverRelayed: the base URLs carry user:password and an
// upstream echoes the API key, the Authorization header and the user info
// in its error bodies; neither the answers nor the group's status carry
// any of them.
func TestCredentialsNeverRelayed(t *testing.T) {
	fake := testllm.Start(t)
	r := newRig(t, map[string]string{
		"OPENAI_BASE_URL":    withUserInfo(fake.OpenAIBase(), "ouser-id", "opass-SECRET"),
		"ANTHROPIC_BASE_URL": withUserInfo(fake.URL, "auser-id", "apass-SECRET"),
	})
	// newRig started its own fake; point the scripts at the one configured.
	r.fake = fake
	secrets := []string{fake.OpenAIKey, fake.AnthropicK, "ouser-id", "opass-SECRET", "auser-id", "apass-SECRET"}
	check := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s carries %q: %s", what, s, text)
			}
		}
	}
	// an upstream echoes what it was sent: its own key and user info
	echo := func(key, userinfo string) string {
		return fmt.Sprintf(`{"type":"error","error":{"type":"invalid_request_error","message":"key %s rejected (Authorization: Bearer %s) for %s"}}`, key, key, userinfo)
	}
	for _, tc := range []struct {
		prov, endpoint, key, userinfo string
		stream                        bool
	}{
		{"openai", testllm.OpenAIChat, fake.OpenAIKey, "ouser-id:opass-SECRET", false},
		{"openai", testllm.OpenAIChat, fake.OpenAIKey, "ouser-id:opass-SECRET", true},
		{"anthropic", testllm.AnthropicMessages, fake.AnthropicK, "auser-id:apass-SECRET", false},
		{"anthropic", testllm.AnthropicMessages, fake.AnthropicK, "auser-id:apass-SECRET", true},
	} {
		fake.Script(tc.endpoint, testllm.Step{Status: 400, Body: echo(tc.key, tc.userinfo)})
		a := r.post(t, "/api/v2/llm/chat", fmt.Sprintf(`{"provider":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, tc.prov, tc.stream))
		if a.status != 502 || !strings.Contains(string(a.body), "[redacted]") {
			t.Errorf("%s stream=%v: %d %s", tc.prov, tc.stream, a.status, a.body)
		}
		check(fmt.Sprintf("%s stream=%v answer", tc.prov, tc.stream), string(a.body))
	}
	// Embeddings relay the same way.
	fake.Script(testllm.OpenAIEmbeddings, testllm.Step{Status: 400, Body: echo(fake.OpenAIKey, "ouser-id:opass-SECRET")})
	a := r.post(t, "/api/v2/llm/embeddings", `{"input":["hi"]}`)
	check("embeddings answer", string(a.body))
	if a.status < 400 {
		t.Errorf("embeddings: %d %s", a.status, a.body)
	}
	// The upstream works with the credentials (they were not lost).
	if a := r.post(t, "/api/v2/llm/chat", `{"provider":"openai","messages":[{"role":"user","content":"hi"}]}`); a.status != 200 {
		t.Errorf("chat: %d %s", a.status, a.body)
	}
	st := r.f.Status()
	check("status", st.Detail)
	if !strings.Contains(st.Detail, strings.TrimPrefix(fake.OpenAIBase(), "http://")) {
		t.Errorf("status no longer names the base URL: %s", st.Detail)
	}
}

// TestTransportErrorsCarryNoUserInfo: an unreachable base URL with user
// info gives a transport error that quotes the URL; the answer does not.
func TestTransportErrorsCarryNoUserInfo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://deaduser-id:deadpass-SECRET@" + ln.Addr().String() + "/v1"
	ln.Close()
	r := newRig(t, map[string]string{"OPENAI_BASE_URL": dead})
	a := r.post(t, "/api/v2/llm/chat", `{"provider":"openai","messages":[{"role":"user","content":"hi"}]}`)
	if a.status != 503 || strings.Contains(string(a.body), "deaduser-id") || strings.Contains(string(a.body), "deadpass-SECRET") {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

// TestRelayedErrorsCutAfterRedaction: an upstream echoes the API key so
// that it straddles the points where relayed messages are cut (300 and
// 1000 bytes); no answer, on /v1 or /api/v2/llm, for either provider,
// carries the key or any prefix of it of 6 characters or more (issue 20
// item 4: the cut came first and left 55 of 56 characters).
func TestRelayedErrorsCutAfterRedaction(t *testing.T) {
	fake := testllm.Start(t)
	fake.OpenAIKey = "sk-proj-OPENAI-0123456789abcdefghijklmnopqrstuvwxyzABCDEF"
	fake.AnthropicK = "sk-ant-api03-ANTHROPIC-0123456789abcdefghijklmnopqrstuvwx"
	r := newRig(t, map[string]string{
		"OPENAI_BASE_URL": fake.OpenAIBase(), "OPENAI_API_KEY": fake.OpenAIKey,
		"ANTHROPIC_BASE_URL": fake.URL, "ANTHROPIC_API_KEY": fake.AnthropicK,
	})
	r.fake = fake
	leaks := func(text, key string) string {
		for k := len(key); k >= 6; k-- {
			if strings.Contains(text, key[:k]) {
				return key[:k]
			}
		}
		return ""
	}
	// the key starts a few bytes before the cut, inside the message
	// (JSON error bodies) or the raw body (non-JSON)
	echo := func(key string, cut int, jsonBody bool, anthropic bool) string {
		msg := strings.Repeat("x", cut-10) + key + " was rejected"
		if !jsonBody {
			return msg
		}
		if anthropic {
			return fmt.Sprintf(`{"type":"error","error":{"type":"invalid_request_error","message":%q}}`, msg)
		}
		return fmt.Sprintf(`{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":null}}`, msg)
	}
	for _, cut := range []int{300, 1000} {
		for _, jsonBody := range []bool{true, false} {
			for _, tc := range []struct {
				path, body, endpoint, key string
				anthropic                 bool
			}{
				{"/v1/chat/completions", `{"model":"openai/fake-gpt","messages":[{"role":"user","content":"hi"}]}`, testllm.OpenAIChat, fake.OpenAIKey, false},
				{"/v1/chat/completions", `{"model":"anthropic/fake-claude","messages":[{"role":"user","content":"hi"}]}`, testllm.AnthropicMessages, fake.AnthropicK, true},
				{"/v1/chat/completions", `{"model":"openai/fake-gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`, testllm.OpenAIChat, fake.OpenAIKey, false},
				{"/v1/chat/completions", `{"model":"anthropic/fake-claude","stream":true,"messages":[{"role":"user","content":"hi"}]}`, testllm.AnthropicMessages, fake.AnthropicK, true},
				{"/api/v2/llm/chat", `{"provider":"openai","messages":[{"role":"user","content":"hi"}]}`, testllm.OpenAIChat, fake.OpenAIKey, false},
				{"/api/v2/llm/chat", `{"provider":"anthropic","messages":[{"role":"user","content":"hi"}]}`, testllm.AnthropicMessages, fake.AnthropicK, true},
				{"/api/v2/llm/chat", `{"provider":"openai","stream":true,"messages":[{"role":"user","content":"hi"}]}`, testllm.OpenAIChat, fake.OpenAIKey, false},
				{"/api/v2/llm/chat", `{"provider":"anthropic","stream":true,"messages":[{"role":"user","content":"hi"}]}`, testllm.AnthropicMessages, fake.AnthropicK, true},
			} {
				fake.Script(tc.endpoint, testllm.Step{Status: 400, Body: echo(tc.key, cut, jsonBody, tc.anthropic)})
				a := r.post(t, tc.path, tc.body)
				what := fmt.Sprintf("%s %s cut %d json %v", tc.path, tc.body, cut, jsonBody)
				if a.status < 400 {
					t.Errorf("%s: %d %s", what, a.status, a.body)
				}
				if p := leaks(string(a.body), tc.key); p != "" {
					t.Errorf("%s: answer carries %q of the key: %s", what, p, a.body)
				}
			}
		}
	}
}

// TestRedactorCut: redaction comes before the cut, and a cut never ends in
// the beginning of a secret (one the upstream or a read bound cut before).
func TestRedactorCut(t *testing.T) {
	key := "sk-0123456789abcdefghij"
	red := provider.NewRedactor("http://127.0.0.1:9/v1?api-version=1", key)
	msg := strings.Repeat("a", 990) + key
	if got := red.Cut(msg, 1000); strings.Contains(got, key[:6]) || !strings.HasPrefix(got, strings.Repeat("a", 990)+"[redacted]") {
		t.Fatalf("cut across the key: %q", got[980:])
	}
	// the text already ends inside the key (cut by the upstream)
	msg = strings.Repeat("b", 995) + key[:10] + strings.Repeat("c", 10)
	if got := red.Cut(msg, 1000); strings.Contains(got, key[:3]) {
		t.Fatalf("cut ends in a key prefix: %q", got[980:])
	}
	// short non-secret query values are left alone (issue 20 item 9)
	if s := "dial tcp 127.0.0.1:1: connection refused (v1)"; red.String(s) != s {
		t.Fatalf("redaction garbles %q: %q", s, red.String(s))
	}
}

// TestGatewayErrorsKeepShortQueryValues: with OPENAI_BASE_URL carrying
// ?api-version=1, a relayed transport error keeps its "1"s (issue 20 item
// 9: every 1 became [redacted]) and a credential in the query is still
// removed.
func TestGatewayErrorsKeepShortQueryValues(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newRig(t, map[string]string{"OPENAI_BASE_URL": "http://" + addr + "/v1?api-version=1&sig=query-SECRET-value"})
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"openai/fake-gpt","messages":[{"role":"user","content":"hi"}]}`},
		{"/api/v2/llm/chat", `{"provider":"openai","messages":[{"role":"user","content":"hi"}]}`},
	} {
		a := r.post(t, tc.path, tc.body)
		if a.status != 503 || strings.Contains(string(a.body), "query-SECRET-value") {
			t.Errorf("%s: %d %s", tc.path, a.status, a.body)
		}
		if strings.Contains(string(a.body), "[redacted]27.0.0") || !strings.Contains(string(a.body), "127.0.0.1") {
			t.Errorf("%s: the error text is garbled: %s", tc.path, a.body)
		}
	}
}
