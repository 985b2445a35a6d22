package upstream

// These tests run a Client against an in-process HTTP server on loopback
// that answers in each provider's wire format (JSON, SSE); no LLM API is
// reachable here. The surfaces built on the client are tested in package
// llm against internal/testkit/testllm.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

type seen struct {
	mu     sync.Mutex
	body   []byte
	header http.Header
	path   string
}

// serve answers every request with status and body (SSE when the body
// starts with "event:" or "data:") and records what it received.
func serve(t *testing.T, status int, answer string) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.body, s.header, s.path = b, r.Header.Clone(), r.URL.Path
		s.mu.Unlock()
		if strings.HasPrefix(answer, "event:") || strings.HasPrefix(answer, "data:") {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func client(t *testing.T, name, base, key string) *Client {
	t.Helper()
	c, err := New(name, base, key, http.DefaultTransport, provider.NewRedactor(base, key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const completion = `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`

// TestBodySentAsGiven: the client sends the bytes it is handed, unchanged
// (spacing, key order, fields it does not know), with each API's own
// headers; an OpenAI-compatible answer comes back as it came.
func TestBodySentAsGiven(t *testing.T) {
	body := []byte(`{ "seed":7,"model" :"m","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2} }`)
	srv, got := serve(t, 200, completion)
	c := client(t, OpenAI, srv.URL+"/v1/", "sk-o")
	a, err := c.Complete(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.body) != string(body) || got.path != "/v1/chat/completions" {
		t.Fatalf("upstream got %s %s", got.path, got.body)
	}
	if got.header.Get("Authorization") != "Bearer sk-o" || got.header.Get("X-Api-Key") != "" {
		t.Fatalf("headers %v", got.header)
	}
	if string(a.Body) != completion || a.Usage.TotalTokens != 3 {
		t.Fatalf("answer %s %+v", a.Body, a.Usage)
	}

	srv, got = serve(t, 200, `{"id":"msg_1","type":"message","model":"c","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":2,"output_tokens":1}}`)
	c = client(t, Anthropic, srv.URL, "sk-a")
	a, err = c.Complete(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.body) != string(body) || got.path != "/v1/messages" {
		t.Fatalf("upstream got %s %s", got.path, got.body)
	}
	if got.header.Get("X-Api-Key") != "sk-a" || got.header.Get("Authorization") != "" || got.header.Get("Anthropic-Version") == "" {
		t.Fatalf("headers %v", got.header)
	}
	if !strings.Contains(string(a.Body), `"object":"chat.completion"`) || !strings.Contains(string(a.Body), `"finish_reason":"stop"`) || a.Usage.TotalTokens != 3 {
		t.Fatalf("translated answer %s %+v", a.Body, a.Usage)
	}
}

// TestErrorsCarryNoKey: an upstream that echoes the key in its error gets
// it replaced, for a status error and for the error event of a stream.
func TestErrorsCarryNoKey(t *testing.T) {
	const key = "sk-secret-0123456789"
	srv, _ := serve(t, 400, `{"error":{"message":"bad key `+key+`"}}`)
	_, err := client(t, OpenAI, srv.URL, key).Complete(context.Background(), []byte(`{}`))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != provider.KindStatus || pe.Status != 400 || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), provider.Redacted) {
		t.Fatalf("%v", err)
	}
	srv, _ = serve(t, 200, "data: {\"error\":{\"message\":\"boom "+key+"\"}}\n\n")
	s, err := client(t, OpenAI, srv.URL, key).Stream(context.Background(), []byte(`{}`), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); !errors.As(err, &pe) || pe.Kind != provider.KindStatus || strings.Contains(err.Error(), key) {
		t.Fatalf("%v", err)
	}
}

// TestOpenAIStream: chunks come as they came; the usage chunk the caller
// asked for on its own carries the usage but nothing to relay; [DONE] ends
// it; a stream cut before [DONE] is a malformed answer.
func TestOpenAIStream(t *testing.T) {
	const sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"he\"},\"finish_reason\":null}]}\n\n" +
		": keep-alive\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"y\"},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n"
	srv, _ := serve(t, 200, sse+"data: [DONE]\n\n")
	for _, include := range []bool{false, true} {
		s, err := client(t, OpenAI, srv.URL, "k").Stream(context.Background(), []byte(`{}`), include)
		if err != nil {
			t.Fatal(err)
		}
		var text, finish string
		var relayed int
		var usage *provider.Usage
		for {
			ev, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Done {
				break
			}
			text += ev.Text
			if ev.Finish != "" {
				finish = ev.Finish
			}
			if ev.Usage != nil {
				usage = ev.Usage
			}
			if ev.Data != nil {
				relayed++
			}
		}
		s.Close()
		want := 2
		if include {
			want = 3
		}
		if text != "hey" || finish != "stop" || usage == nil || usage.TotalTokens != 3 || relayed != want {
			t.Fatalf("include=%v: %q %q %+v relayed %d", include, text, finish, usage, relayed)
		}
	}
	srv, _ = serve(t, 200, sse) // no [DONE]
	s, err := client(t, OpenAI, srv.URL, "k").Stream(context.Background(), []byte(`{}`), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pe *provider.Error
	for err == nil {
		_, err = s.Next()
	}
	if !errors.As(err, &pe) || pe.Kind != provider.KindMalformed {
		t.Fatalf("cut stream: %v", err)
	}
}

// TestAnthropicStreamPingsAreEvents: every Anthropic event returns from
// Next, pings and block stops as events with nothing to relay, so the
// caller's idle timer sees a live stream; the text, finish reason and
// usage arrive translated, then Done.
func TestAnthropicStreamPingsAreEvents(t *testing.T) {
	const sse = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"type\":\"message\",\"model\":\"c\",\"usage\":{\"input_tokens\":4,\"output_tokens\":0}}}\n\n" +
		"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hey\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	srv, _ := serve(t, 200, sse)
	s, err := client(t, Anthropic, srv.URL, "k").Stream(context.Background(), []byte(`{}`), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var empty int
	var text, finish string
	var usage *provider.Usage
	for {
		ev, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Done {
			break
		}
		if ev.Data == nil {
			empty++
		}
		text += ev.Text
		if ev.Finish != "" {
			finish, usage = ev.Finish, ev.Usage
		}
	}
	// ping, block start (text), ping, block stop, message_delta
	if empty != 5 || text != "hey" || finish != "stop" || usage == nil || usage.PromptTokens != 4 || usage.CompletionTokens != 2 {
		t.Fatalf("empty %d text %q finish %q usage %+v", empty, text, finish, usage)
	}
}

// TestBaseURLQueryKept: a base URL with a query (an Azure OpenAI
// deployment's api-version) keeps it on every endpoint, with the
// endpoint's path after the base's; a base without a path gets one.
func TestBaseURLQueryKept(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/embeddings") {
			_, _ = io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],"model":"e","usage":{"prompt_tokens":1,"total_tokens":1}}`)
			return
		}
		_, _ = io.WriteString(w, completion)
	}))
	t.Cleanup(srv.Close)
	c := client(t, OpenAI, srv.URL+"/openai/deployments/d1?api-version=2024-10-21", "sk-o")
	if _, err := c.Complete(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Embed(context.Background(), []string{"x"}, "e"); err != nil {
		t.Fatal(err)
	}
	if _, err := client(t, OpenAI, srv.URL, "sk-o").Complete(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/openai/deployments/d1/chat/completions?api-version=2024-10-21",
		"/openai/deployments/d1/embeddings?api-version=2024-10-21",
		"/chat/completions",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("upstream got %q, want %q", got, want)
	}
}
