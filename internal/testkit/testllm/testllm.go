// Package testllm is an in-process HTTP server for tests that speaks the
// wire protocols of the LLM APIs the llm group uses: OpenAI chat
// completions (JSON and SSE streaming with `data: [DONE]`), OpenAI
// embeddings, and the Anthropic Messages API (JSON and its streaming event
// sequence message_start, content_block_start, ping, content_block_delta...,
// content_block_stop, message_delta, message_stop). No real LLM server can
// run here; this one answers deterministically, checks credentials, and can
// be scripted to fail (status codes, malformed JSON, hanging) per endpoint.
//
// Tool use: a request that declares tools (and whose last message is not a
// tool result) is answered with a call of the first tool, arguments
// {"q": <last user text>}, in each API's shape (OpenAI tool_calls with
// finish_reason tool_calls; Anthropic tool_use blocks, input_json_delta
// events and stop_reason tool_use). max_tokens below the reply's word count
// cuts it (finish_reason length / stop_reason max_tokens); an Anthropic
// stop_sequences entry found in the reply cuts it there (stop_sequence).
//
// Scripting by model name, for clients that cannot reach Script (a Node
// test driving a built binary): a chat whose model is "status-NNN" answers
// status NNN with a standard error body and Retry-After: 1; "stream-error"
// streams one chunk and then an error event.
//
// Limits: one choice per completion, no images or thinking blocks, token
// counts are word counts, embeddings are a character histogram (see
// Vector), not semantic.
package testllm

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Endpoints that steps can be scripted for.
const (
	OpenAIChat        = "openai.chat"
	OpenAIEmbeddings  = "openai.embeddings"
	AnthropicMessages = "anthropic.messages"
)

// Step scripts one answer of an endpoint. Zero fields mean "normal".
type Step struct {
	Status     int    // answer this status with Body (or a standard error body)
	Body       string // raw body to send instead of the normal one (e.g. malformed JSON)
	RetryAfter string // Retry-After header
	Hang       bool   // wait until the client gives up
	// BreakStreamAfter ends a streamed answer after this many text chunks
	// without the closing events (a cut connection).
	BreakStreamAfter int
	// StreamError sends an error event (Anthropic: event: error; OpenAI:
	// data: {"error":...}) after the first text chunk, ending the stream.
	StreamError string
}

// Request is what the server recorded of one call.
type Request struct {
	Endpoint string
	Header   http.Header
	Body     map[string]any
}

// Server is the fake upstream. Its URL serves OpenAI under /v1 and Anthropic
// under /.
type Server struct {
	URL        string
	OpenAIKey  string
	AnthropicK string
	// Reply is the text every chat answers (streamed word by word).
	Reply string
	// ChunkDelay is the pause between streamed chunks.
	ChunkDelay time.Duration
	// Dim is the embedding size.
	Dim int
	// Hold, when set, is received from before every streamed text chunk
	// after the first: a test releases chunks one by one, which proves
	// that each reached it before the next was even sent.
	Hold chan struct{}

	srv      *httptest.Server
	mu       sync.Mutex
	plan     map[string][]Step
	requests []Request
	canceled chan string
}

// Start runs a server for the test; it is closed at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		OpenAIKey:  "test-openai-key",
		AnthropicK: "test-anthropic-key",
		Reply:      "pong from the fake upstream",
		Dim:        8,
		plan:       map[string][]Step{},
		canceled:   make(chan string, 64),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.openAIChat)
	mux.HandleFunc("POST /v1/embeddings", s.openAIEmbeddings)
	mux.HandleFunc("POST /v1/messages", s.anthropicMessages)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// OpenAIBase is the value for OPENAI_BASE_URL.
func (s *Server) OpenAIBase() string { return s.URL + "/v1" }

// Script queues steps for an endpoint; each call consumes one, and calls
// beyond them answer normally.
func (s *Server) Script(endpoint string, steps ...Step) {
	s.mu.Lock()
	s.plan[endpoint] = append(s.plan[endpoint], steps...)
	s.mu.Unlock()
}

// Requests returns the calls recorded for an endpoint.
func (s *Server) Requests(endpoint string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// Canceled yields the endpoint of each call whose client went away before
// the answer was complete.
func (s *Server) Canceled() <-chan string { return s.canceled }

func (s *Server) next(endpoint string, r *http.Request) (Step, map[string]any) {
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Endpoint: endpoint, Header: r.Header.Clone(), Body: body})
	var st Step
	if q := s.plan[endpoint]; len(q) > 0 {
		st, s.plan[endpoint] = q[0], q[1:]
	}
	model, _ := body["model"].(string)
	if code, ok := strings.CutPrefix(model, "status-"); ok {
		if n, err := strconv.Atoi(code); err == nil {
			st = Step{Status: n, RetryAfter: "1"}
		}
	}
	if model == "stream-error" {
		st = Step{StreamError: "scripted stream error"}
	}
	return st, body
}

// scripted answers a step that replaces the normal answer; false when the
// normal answer should follow.
func (s *Server) scripted(w http.ResponseWriter, r *http.Request, endpoint string, st Step, errType string) bool {
	if st.RetryAfter != "" {
		w.Header().Set("Retry-After", st.RetryAfter)
	}
	switch {
	case st.Hang:
		select {
		case <-r.Context().Done():
			s.noteCancel(endpoint)
		case <-time.After(time.Minute):
		}
		return true
	case st.Status != 0:
		body := st.Body
		if body == "" {
			body = fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":"scripted failure %d"}}`, errType, st.Status)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st.Status)
		_, _ = io.WriteString(w, body)
		return true
	case st.Body != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, st.Body)
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) words() []string {
	f := strings.SplitAfter(s.Reply, " ")
	return f
}

// reply returns the words to answer and the stop reason in the request's
// API (Anthropic's stop_reason when anthropic, else OpenAI's
// finish_reason): cut by a stop sequence (Anthropic) or by max_tokens.
func (s *Server) reply(body map[string]any, anthropic bool) ([]string, string) {
	words := s.words()
	if list, ok := body["stop_sequences"].([]any); ok && anthropic {
		text := strings.Join(words, "")
		for _, x := range list {
			if sq, _ := x.(string); sq != "" {
				if i := strings.Index(text, sq); i >= 0 {
					return strings.SplitAfter(text[:i], " "), "stop_sequence"
				}
			}
		}
	}
	mt, ok := body["max_tokens"].(float64)
	if mct, has := body["max_completion_tokens"].(float64); has && !anthropic {
		mt, ok = mct, true
	}
	if ok && int(mt) < len(words) {
		if anthropic {
			return words[:int(mt)], "max_tokens"
		}
		return words[:int(mt)], "length"
	}
	if anthropic {
		return words, "end_turn"
	}
	return words, "stop"
}

// toolCall returns the tool to call and its arguments (a JSON text) when
// the request declares tools and its last message is not a tool result.
func toolCall(body map[string]any) (string, string) {
	tools, _ := body["tools"].([]any)
	if len(tools) == 0 {
		return "", ""
	}
	msgs, _ := body["messages"].([]any)
	var last string
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if mm["role"] == "tool" {
			last = ""
			continue
		}
		switch c := mm["content"].(type) {
		case string:
			last = c
		case []any:
			last = ""
			for _, blk := range c {
				b, _ := blk.(map[string]any)
				if b["type"] == "tool_result" {
					return "", ""
				}
				t, _ := b["text"].(string)
				last += t
			}
		}
	}
	if len(msgs) > 0 {
		if mm, _ := msgs[len(msgs)-1].(map[string]any); mm["role"] == "tool" {
			return "", ""
		}
	}
	t, _ := tools[0].(map[string]any)
	name, _ := t["name"].(string) // Anthropic
	if fn, ok := t["function"].(map[string]any); ok {
		name, _ = fn["name"].(string) // OpenAI
	}
	args, _ := json.Marshal(map[string]string{"q": last})
	return name, string(args)
}

// hold waits for the test to release the next chunk (when Hold is set).
func (s *Server) hold(r *http.Request, endpoint string) bool {
	if s.Hold == nil {
		return true
	}
	select {
	case <-s.Hold:
		return true
	case <-r.Context().Done():
		s.noteCancel(endpoint)
		return false
	}
}

func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request) {
	st, body := s.next(OpenAIChat, r)
	if r.Header.Get("Authorization") != "Bearer "+s.OpenAIKey {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"message": "Incorrect API key provided", "type": "invalid_request_error"}})
		return
	}
	if s.scripted(w, r, OpenAIChat, st, "server_error") {
		return
	}
	model, _ := body["model"].(string)
	words, finish := s.reply(body, false)
	tool, args := toolCall(body)
	if tool != "" {
		finish = "tool_calls"
	}
	if stream, _ := body["stream"].(bool); stream {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		send := func(v any) bool {
			b, _ := json.Marshal(v)
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return false
			}
			fl.Flush()
			return true
		}
		chunk := func(delta map[string]any, finish any) map[string]any {
			return map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		}
		send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
		if tool != "" {
			words = nil
			half := len(args) / 2
			send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": "call_fake", "type": "function",
				"function": map[string]any{"name": tool, "arguments": ""}}}}, nil))
			for _, piece := range []string{args[:half], args[half:]} {
				send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": piece}}}}, nil))
			}
		}
		for i, wd := range words {
			if st.BreakStreamAfter > 0 && i == st.BreakStreamAfter {
				return
			}
			if i > 0 && !s.hold(r, OpenAIChat) {
				return
			}
			if !send(chunk(map[string]any{"content": wd}, nil)) || !s.pause(r, OpenAIChat) {
				return
			}
			if st.StreamError != "" {
				send(map[string]any{"error": map[string]any{"message": st.StreamError, "type": "server_error", "param": nil, "code": nil}})
				return
			}
		}
		send(chunk(map[string]any{}, finish))
		send(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model, "choices": []any{},
			"usage": map[string]any{"prompt_tokens": promptTokens(body), "completion_tokens": len(words), "total_tokens": promptTokens(body) + len(words)}})
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		fl.Flush()
		return
	}
	msg := map[string]any{"role": "assistant", "content": strings.Join(words, "")}
	if tool != "" {
		words = nil
		msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_fake", "type": "function",
			"function": map[string]any{"name": tool, "arguments": args}}}}
	}
	writeJSON(w, 200, map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": promptTokens(body), "completion_tokens": len(words), "total_tokens": promptTokens(body) + len(words)},
	})
}

// pause waits ChunkDelay; false (and a cancellation record) when the
// client went away meanwhile.
func (s *Server) pause(r *http.Request, endpoint string) bool {
	select {
	case <-r.Context().Done():
		s.noteCancel(endpoint)
		return false
	case <-time.After(s.ChunkDelay):
		return true
	}
}

func (s *Server) noteCancel(endpoint string) {
	select {
	case s.canceled <- endpoint:
	default: // nobody is counting that many
	}
}

func promptTokens(body map[string]any) int {
	n := 0
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		switch c := mm["content"].(type) {
		case string:
			n += len(strings.Fields(c))
		case []any:
			for _, blk := range c {
				b, _ := blk.(map[string]any)
				t, _ := b["text"].(string)
				n += len(strings.Fields(t))
			}
		}
	}
	return n
}

// Vector is the fake embedding of text: a histogram of its bytes folded
// into dim buckets, normalised to length 1.
func Vector(text string, dim int) []float32 {
	v := make([]float64, dim)
	for i := 0; i < len(text); i++ {
		v[int(text[i])%dim]++
	}
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make([]float32, dim)
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(n))
	}
	return out
}

func (s *Server) openAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	st, body := s.next(OpenAIEmbeddings, r)
	if r.Header.Get("Authorization") != "Bearer "+s.OpenAIKey {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"message": "Incorrect API key provided", "type": "invalid_request_error"}})
		return
	}
	if s.scripted(w, r, OpenAIEmbeddings, st, "server_error") {
		return
	}
	var inputs []string
	switch in := body["input"].(type) {
	case string:
		inputs = []string{in}
	case []any:
		for _, x := range in {
			str, _ := x.(string)
			inputs = append(inputs, str)
		}
	}
	data := []any{}
	tokens := 0
	for i, in := range inputs {
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": Vector(in, s.Dim)})
		tokens += len(strings.Fields(in))
	}
	writeJSON(w, 200, map[string]any{"object": "list", "data": data, "model": body["model"],
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	st, body := s.next(AnthropicMessages, r)
	// the API takes the key as x-api-key or as a bearer token (SDK v2 sends the latter)
	if r.Header.Get("X-Api-Key") != s.AnthropicK && r.Header.Get("Authorization") != "Bearer "+s.AnthropicK {
		writeJSON(w, 401, map[string]any{"type": "error", "error": map[string]any{"type": "authentication_error", "message": "invalid x-api-key"}})
		return
	}
	if r.Header.Get("Anthropic-Version") == "" {
		writeJSON(w, 400, map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "message": "anthropic-version header is required"}})
		return
	}
	if s.scripted(w, r, AnthropicMessages, st, "api_error") {
		return
	}
	model, _ := body["model"].(string)
	words, stop := s.reply(body, true)
	tool, args := toolCall(body)
	if tool != "" {
		stop = "tool_use"
	}
	in := promptTokens(body)
	if stream, _ := body["stream"].(bool); stream {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		send := func(event string, v any) bool {
			b, _ := json.Marshal(v)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
				return false
			}
			fl.Flush()
			return true
		}
		send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
			"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []any{},
			"stop_reason": nil, "usage": map[string]any{"input_tokens": in, "output_tokens": 1}}})
		if tool != "" {
			half := len(args) / 2
			send("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
				"content_block": map[string]any{"type": "tool_use", "id": "toolu_fake", "name": tool, "input": map[string]any{}}})
			for _, piece := range []string{args[:half], args[half:]} {
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": piece}})
			}
			send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
			send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
				"usage": map[string]any{"output_tokens": 3}})
			send("message_stop", map[string]any{"type": "message_stop"})
			return
		}
		send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
		send("ping", map[string]any{"type": "ping"})
		for i, wd := range words {
			if st.BreakStreamAfter > 0 && i == st.BreakStreamAfter {
				return
			}
			if i > 0 && !s.hold(r, AnthropicMessages) {
				return
			}
			if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": wd}}) ||
				!s.pause(r, AnthropicMessages) {
				return
			}
			if st.StreamError != "" {
				send("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": st.StreamError}})
				return
			}
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
		send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": len(words)}})
		send("message_stop", map[string]any{"type": "message_stop"})
		return
	}
	content := []any{map[string]any{"type": "text", "text": strings.Join(words, "")}}
	if tool != "" {
		var input map[string]any
		_ = json.Unmarshal([]byte(args), &input)
		content = []any{map[string]any{"type": "tool_use", "id": "toolu_fake", "name": tool, "input": input}}
	}
	writeJSON(w, 200, map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
		"content":     content,
		"stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": len(words)},
	})
}
