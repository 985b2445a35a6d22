package llm

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/testllm"
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
