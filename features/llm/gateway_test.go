package llm

// The /v1 gateway behind the real gin stack over loopback, driven by a real
// OpenAI client (sashabaranov/go-openai) and by raw HTTP where the exact
// wire bytes matter, against internal/testkit/testllm (the OpenAI and Anthropic wire
// protocols in process; no real LLM API is reachable here). The official
// Node SDK drives the built binary in e2e/openai_node_test.go.

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
)

func (r *rig) client() *openai.Client {
	cfg := openai.DefaultConfig("unused-with-auth-off")
	cfg.BaseURL = r.base + "/v1"
	return openai.NewClientWithConfig(cfg)
}

func v1Msgs(text string) []openai.ChatCompletionMessage {
	return []openai.ChatCompletionMessage{{Role: "system", Content: "be brief"}, {Role: "user", Content: text}}
}

func TestV1ChatBothProviders(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	for _, tc := range []struct{ model, upstream, endpoint string }{
		{"openai/fake-gpt", "fake-gpt", testllm.OpenAIChat},
		{"fake-gpt", "fake-gpt", testllm.OpenAIChat}, // bare: default provider
		{"anthropic/fake-claude", "fake-claude", testllm.AnthropicMessages},
	} {
		before := len(r.fake.Requests(tc.endpoint))
		resp, err := r.client().CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: tc.model, Messages: v1Msgs("one two three")})
		if err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != r.fake.Reply || resp.Choices[0].FinishReason != "stop" ||
			resp.Object != "chat.completion" || resp.Usage.PromptTokens == 0 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
			t.Fatalf("%s: %+v", tc.model, resp)
		}
		reqs := r.fake.Requests(tc.endpoint)
		if len(reqs) != before+1 || reqs[len(reqs)-1].Body["model"] != tc.upstream {
			t.Fatalf("%s: upstream saw %+v", tc.model, reqs[len(reqs)-1].Body)
		}
	}
	// the Anthropic request carries the system turn as system, the turns as messages
	last := r.fake.Requests(testllm.AnthropicMessages)[0].Body
	if last["system"] != "be brief" || len(last["messages"].([]any)) != 1 || last["max_tokens"] != float64(1024) {
		t.Fatalf("anthropic request %+v", last)
	}
}

func TestV1StopReasonsAndParams(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		resp, err := r.client().CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: model, Messages: v1Msgs("x"), MaxTokens: 2})
		if err != nil || resp.Choices[0].FinishReason != "length" || resp.Choices[0].Message.Content != "pong from " {
			t.Fatalf("%s max_tokens: %+v %v", model, resp, err)
		}
	}
	resp, err := r.client().CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "anthropic/fake-claude", Messages: v1Msgs("x"),
		Stop: []string{"the fake"}, Temperature: 0.5, TopP: 0.9})
	if err != nil || resp.Choices[0].FinishReason != "stop" || resp.Choices[0].Message.Content != "pong from " {
		t.Fatalf("stop: %+v %v", resp, err)
	}
	body := r.fake.Requests(testllm.AnthropicMessages)[1].Body
	if body["temperature"] != 0.5 || body["top_p"] != 0.8999999761581421 && body["top_p"] != 0.9 {
		t.Fatalf("sampling params not translated: %+v", body)
	}
	if s, _ := body["stop_sequences"].([]any); len(s) != 1 || s[0] != "the fake" {
		t.Fatalf("stop not translated: %+v", body)
	}
}

// chunks reads an SSE answer and checks OpenAI's framing byte by byte:
// every event is exactly "data: <json>\n\n" and the last "data: [DONE]\n\n".
func chunks(t *testing.T, body io.Reader) []map[string]any {
	t.Helper()
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Fatalf("stream does not end with data: [DONE]: %q", s)
	}
	var out []map[string]any
	for _, ev := range strings.Split(strings.TrimSuffix(s, "data: [DONE]\n\n"), "\n\n") {
		if ev == "" {
			continue
		}
		if !strings.HasPrefix(ev, "data: ") || strings.Contains(ev, "\n") {
			t.Fatalf("bad event framing %q", ev)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &m); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		out = append(out, m)
	}
	return out
}

func (r *rig) stream(t *testing.T, body string) (*http.Response, []map[string]any) {
	t.Helper()
	resp, err := http.Post(r.base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	return resp, chunks(t, resp.Body)
}

func TestV1StreamFramingBothProviders(t *testing.T) {
	r := newRig(t, nil)
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		for _, usage := range []bool{false, true} {
			body := `{"model":"` + model + `","stream":true,"messages":[{"role":"user","content":"a b c"}]`
			if usage {
				body += `,"stream_options":{"include_usage":true}`
			}
			resp, evs := r.stream(t, body+"}")
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("content type %q", ct)
			}
			var text strings.Builder
			var finish string
			var usageChunks int
			for i, ev := range evs {
				if ev["object"] != "chat.completion.chunk" {
					t.Fatalf("%s: chunk %d object %v", model, i, ev["object"])
				}
				choices := ev["choices"].([]any)
				if u, ok := ev["usage"].(map[string]any); ok && u != nil {
					usageChunks++
					if len(choices) != 0 || u["prompt_tokens"] != float64(3) || u["completion_tokens"] != float64(5) || u["total_tokens"] != float64(8) {
						t.Fatalf("%s: usage chunk %+v", model, ev)
					}
					continue
				}
				c := choices[0].(map[string]any)
				d := c["delta"].(map[string]any)
				if i == 0 && d["role"] != "assistant" {
					t.Fatalf("%s: first delta %+v", model, d)
				}
				if s, ok := d["content"].(string); ok {
					text.WriteString(s)
				}
				if fr, ok := c["finish_reason"].(string); ok {
					finish = fr
				}
			}
			if text.String() != r.fake.Reply || finish != "stop" {
				t.Fatalf("%s: text %q finish %q", model, text.String(), finish)
			}
			if want := map[bool]int{false: 0, true: 1}[usage]; usageChunks != want {
				t.Fatalf("%s include_usage=%v: %d usage chunks", model, usage, usageChunks)
			}
		}
	}
	// the token metrics count streamed answers whether or not the client
	// asked for usage (the gateway asks the upstream itself)
	if v := counterValue(t, r.reg, "advanced_backend_llm_tokens_total", map[string]string{"provider": "openai", "model": "fake-gpt", "kind": "completion"}); v != 10 {
		t.Fatalf("openai completion tokens %v", v)
	}
	if v := counterValue(t, r.reg, "advanced_backend_llm_tokens_total", map[string]string{"provider": "anthropic", "model": "fake-claude", "kind": "completion"}); v != 10 {
		t.Fatalf("anthropic completion tokens %v", v)
	}
}

func TestV1StreamWithGoClient(t *testing.T) {
	r := newRig(t, nil)
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		s, err := r.client().CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{
			Model: model, Messages: v1Msgs("hi"), StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
		if err != nil {
			t.Fatal(err)
		}
		var text string
		var usage *openai.Usage
		for {
			c, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", model, err)
			}
			if len(c.Choices) > 0 {
				text += c.Choices[0].Delta.Content
			}
			if c.Usage != nil {
				usage = c.Usage
			}
		}
		s.Close()
		if text != r.fake.Reply || usage == nil || usage.CompletionTokens != 5 {
			t.Fatalf("%s: %q %+v", model, text, usage)
		}
	}
}

// The fake upstream sends each chunk after the first only when the test
// releases it, and the test releases it only after receiving the previous
// one from the gateway: a gateway that buffered would never deliver, and
// the bounded read would fail.
func TestV1StreamFlushesEachChunk(t *testing.T) {
	r := newRig(t, nil)
	r.fake.Hold = make(chan struct{})
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", r.base+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"x"}]}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		readSSE(t, resp.Body, func(ev sseEvent) bool {
			var c struct {
				Choices []struct{ Delta struct{ Content string } }
			}
			if ev.data == "[DONE]" || json.Unmarshal([]byte(ev.data), &c) != nil || len(c.Choices) == 0 || c.Choices[0].Delta.Content == "" {
				return true
			}
			got = append(got, c.Choices[0].Delta.Content)
			if len(got) < len(strings.SplitAfter(r.fake.Reply, " ")) {
				select {
				case r.fake.Hold <- struct{}{}: // release the next chunk
				case <-ctx.Done():
					t.Errorf("%s: upstream never asked for chunk %d", model, len(got)+1)
					return false
				}
			}
			return true
		})
		resp.Body.Close()
		cancel()
		if strings.Join(got, "") != r.fake.Reply {
			t.Fatalf("%s: got %q (deadline: %v)", model, got, ctx.Err())
		}
	}
}

func TestV1StreamClientGoneCancelsUpstream(t *testing.T) {
	r := newRig(t, nil)
	r.fake.ChunkDelay = time.Minute
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", r.base+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"x"}]}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readSSE(t, resp.Body, func(ev sseEvent) bool { return !strings.Contains(ev.data, "pong") })
		cancel()
		resp.Body.Close()
		select {
		case <-r.fake.Canceled():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: upstream call not canceled", model)
		}
	}
}

func TestV1ToolCallsBothProviders(t *testing.T) {
	r := newRig(t, nil)
	tools := []openai.Tool{{Type: "function", Function: &openai.FunctionDefinition{Name: "lookup", Description: "find",
		Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)}}}
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		resp, err := r.client().CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
			Model: model, Messages: v1Msgs("weather"), Tools: tools, ToolChoice: "required"})
		if err != nil {
			t.Fatal(err)
		}
		ch := resp.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Name != "lookup" ||
			ch.Message.ToolCalls[0].Function.Arguments != `{"q":"weather"}` || ch.Message.ToolCalls[0].ID == "" {
			t.Fatalf("%s: %+v", model, ch)
		}
		// the tool's result goes back; the model answers with text
		msgs := append(v1Msgs("weather"), ch.Message, openai.ChatCompletionMessage{Role: "tool", ToolCallID: ch.Message.ToolCalls[0].ID, Content: "sunny"})
		resp, err = r.client().CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: model, Messages: msgs, Tools: tools})
		if err != nil || resp.Choices[0].FinishReason != "stop" || resp.Choices[0].Message.Content != r.fake.Reply {
			t.Fatalf("%s after tool result: %+v %v", model, resp, err)
		}
		// streamed: the call arrives in pieces, index 0
		s, err := r.client().CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{Model: model, Messages: v1Msgs("rain"), Tools: tools})
		if err != nil {
			t.Fatal(err)
		}
		var name, args, finish string
		for {
			c, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Choices) == 0 {
				continue
			}
			for _, tc := range c.Choices[0].Delta.ToolCalls {
				name += tc.Function.Name
				args += tc.Function.Arguments
			}
			if c.Choices[0].FinishReason != "" {
				finish = string(c.Choices[0].FinishReason)
			}
		}
		s.Close()
		if name != "lookup" || args != `{"q":"rain"}` || finish != "tool_calls" {
			t.Fatalf("%s stream: %q %q %q", model, name, args, finish)
		}
	}
	// Anthropic saw the translated tools, the tool_use and the tool_result
	reqs := r.fake.Requests(testllm.AnthropicMessages)
	first, second := reqs[0].Body, reqs[1].Body
	tl := first["tools"].([]any)[0].(map[string]any)
	if tl["name"] != "lookup" || tl["input_schema"] == nil || first["tool_choice"].(map[string]any)["type"] != "any" {
		t.Fatalf("tools not translated: %+v", first)
	}
	msgs := second["messages"].([]any)
	asst := msgs[1].(map[string]any)["content"].([]any)[0].(map[string]any)
	res := msgs[2].(map[string]any)
	blk := res["content"].([]any)[0].(map[string]any)
	if asst["type"] != "tool_use" || asst["id"] != "toolu_fake" || res["role"] != "user" || blk["type"] != "tool_result" ||
		blk["tool_use_id"] != "toolu_fake" || blk["content"] != "sunny" {
		t.Fatalf("tool turns not translated: %+v", msgs)
	}
	// OpenAI saw the tools as sent
	if _, ok := r.fake.Requests(testllm.OpenAIChat)[0].Body["tools"].([]any); !ok {
		t.Fatal("tools not passed through to openai")
	}
}

func (r *rig) v1(t *testing.T, method, path, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) openAIError(t *testing.T) apierr.OpenAIDetail {
	t.Helper()
	var b apierr.OpenAIBody
	a.json(t, &b)
	if b.Error.Message == "" || b.Error.Type == "" {
		t.Fatalf("not an OpenAI error (%d): %s", a.status, a.body)
	}
	return b.Error
}

func TestV1UntranslatableIs400NamingTheField(t *testing.T) {
	r := newRig(t, nil)
	msgs := `"messages":[{"role":"user","content":"x"}]`
	for _, tc := range []struct{ extra, param string }{
		{`"presence_penalty":0.5`, "presence_penalty"},
		{`"logit_bias":{"50256":-100}`, "logit_bias"},
		{`"seed":7`, "seed"},
		{`"response_format":{"type":"json_object"}`, "response_format"},
		{`"temperature":1.5`, "temperature"},
		{`"tools":[{"type":"custom","custom":{"name":"x"}}]`, "tools[0].type"},
		{`"audio":{"voice":"alloy"}`, "audio"},
	} {
		a := r.v1(t, "POST", "/v1/chat/completions", `{"model":"anthropic/fake-claude",`+msgs+`,`+tc.extra+`}`)
		e := a.openAIError(t)
		if a.status != 400 || e.Param == nil || *e.Param != tc.param || e.Type != "invalid_request_error" {
			t.Fatalf("%s: %d %s", tc.extra, a.status, a.body)
		}
	}
	// an image in a data URL, a neutral penalty and null fields translate
	a := r.v1(t, "POST", "/v1/chat/completions", `{"model":"anthropic/fake-claude","presence_penalty":0,"seed":null,"messages":[{"role":"user","content":[{"type":"text","text":"what"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	reqs := r.fake.Requests(testllm.AnthropicMessages)
	img := reqs[len(reqs)-1].Body["messages"].([]any)[0].(map[string]any)["content"].([]any)[1].(map[string]any)
	if src := img["source"].(map[string]any); img["type"] != "image" || src["media_type"] != "image/png" || src["data"] != "AAAA" {
		t.Fatalf("image %+v", img)
	}
	// the same fields pass through to an OpenAI-compatible upstream
	a = r.v1(t, "POST", "/v1/chat/completions", `{"model":"openai/fake-gpt",`+msgs+`,"seed":7,"logit_bias":{"50256":-100},"response_format":{"type":"json_object"}}`)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	oreq := r.fake.Requests(testllm.OpenAIChat)[0].Body
	if oreq["seed"] != float64(7) || oreq["response_format"] == nil || oreq["logit_bias"] == nil || oreq["model"] != "fake-gpt" {
		t.Fatalf("not passed through: %+v", oreq)
	}
}

func TestV1Errors(t *testing.T) {
	r := newRig(t, map[string]string{"LLM_MAX_RETRIES": "0"})
	chat := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"x"}]}`
	}
	check := func(name string, a answer, status int, typ, code string) apierr.OpenAIDetail {
		t.Helper()
		e := a.openAIError(t)
		if a.status != status || e.Type != typ || e.Code != code {
			t.Fatalf("%s: %d %s, want %d %s %s", name, a.status, a.body, status, typ, code)
		}
		if strings.Contains(string(a.body), r.fake.OpenAIKey) || strings.Contains(string(a.body), r.fake.AnthropicK) {
			t.Fatalf("%s: key leaked: %s", name, a.body)
		}
		return e
	}
	e := check("unknown model", r.v1(t, "POST", "/v1/chat/completions", chat("openai/gpt-nope")), 404, "not_found_error", "model_not_found")
	if e.Param == nil || *e.Param != "model" {
		t.Fatalf("param %v", e.Param)
	}
	check("bad json", r.v1(t, "POST", "/v1/chat/completions", `{"model":`), 400, "invalid_request_error", "invalid_json")
	check("no messages", r.v1(t, "POST", "/v1/chat/completions", `{"model":"fake-gpt","messages":[]}`), 400, "invalid_request_error", "invalid_request")
	check("n=2", r.v1(t, "POST", "/v1/chat/completions", `{"model":"fake-gpt","n":2,"messages":[{"role":"user","content":"x"}]}`), 400, "invalid_request_error", "invalid_request")
	for _, tc := range []struct {
		model, endpoint string
	}{{"openai/fake-gpt", testllm.OpenAIChat}, {"anthropic/fake-claude", testllm.AnthropicMessages}} {
		r.fake.Script(tc.endpoint, testllm.Step{Status: 429, RetryAfter: "7"})
		a := r.v1(t, "POST", "/v1/chat/completions", chat(tc.model))
		check(tc.model+" 429", a, 429, "rate_limit_error", "upstream_rate_limited")
		if a.header.Get("Retry-After") != "7" {
			t.Fatalf("%s: Retry-After %q", tc.model, a.header.Get("Retry-After"))
		}
		r.fake.Script(tc.endpoint, testllm.Step{Status: 500})
		check(tc.model+" 500", r.v1(t, "POST", "/v1/chat/completions", chat(tc.model)), 502, "server_error", "upstream_error")
		r.fake.Script(tc.endpoint, testllm.Step{Status: 400, Body: `{"error":{"message":"bad thing","type":"invalid_request_error"}}`})
		e := check(tc.model+" 400", r.v1(t, "POST", "/v1/chat/completions", chat(tc.model)), 400, "invalid_request_error", "upstream_invalid_request")
		if !strings.Contains(e.Message, "bad thing") {
			t.Fatalf("message %q", e.Message)
		}
		r.fake.Script(tc.endpoint, testllm.Step{Body: `{"not":"a completion"`})
		check(tc.model+" malformed", r.v1(t, "POST", "/v1/chat/completions", chat(tc.model)), 502, "server_error", "upstream_malformed")
		// mid-stream: an error event the SDKs raise, and no [DONE]
		r.fake.Script(tc.endpoint, testllm.Step{StreamError: "overloaded now"})
		a = r.v1(t, "POST", "/v1/chat/completions", `{"model":"`+tc.model+`","stream":true,"messages":[{"role":"user","content":"x"}]}`)
		if a.status != 200 || !strings.Contains(string(a.body), `data: {"error":{"message":`) || strings.Contains(string(a.body), "[DONE]") {
			t.Fatalf("%s: stream error %d %s", tc.model, a.status, a.body)
		}
	}
	// the upstream refusing the gateway's key is the gateway's fault, and
	// the message never echoes the key
	r.fake.Script(testllm.OpenAIChat, testllm.Step{Status: 401, Body: `{"error":{"message":"Incorrect API key provided: ` + r.fake.OpenAIKey + `"}}`})
	check("upstream 401", r.v1(t, "POST", "/v1/chat/completions", chat("fake-gpt")), 502, "server_error", "upstream_auth")
}

func TestV1UnconfiguredProviderAndModels(t *testing.T) {
	r := newRig(t, map[string]string{"ANTHROPIC_API_KEY": "", "LLM_MODELS": "openai/fake-gpt,openai/other,anthropic/*"})
	a := r.v1(t, "POST", "/v1/chat/completions", `{"model":"anthropic/fake-claude","messages":[{"role":"user","content":"x"}]}`)
	if e := a.openAIError(t); a.status != 404 || !strings.Contains(e.Message, "ANTHROPIC_API_KEY") {
		t.Fatalf("%d %s", a.status, a.body)
	}
	list, err := r.client().ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.ID+":"+m.OwnedBy)
	}
	if strings.Join(ids, ",") != "openai/fake-gpt:openai,openai/other:openai" {
		t.Fatalf("models %v", ids)
	}
	for _, path := range []string{"/v1/models/openai/other", "/v1/models/openai%2Fother", "/v1/models/other"} {
		a := r.v1(t, "GET", path, "")
		var m v1Model
		a.json(t, &m)
		if a.status != 200 || m.ID != "openai/other" || m.Object != "model" {
			t.Fatalf("%s: %d %s", path, a.status, a.body)
		}
	}
	if a := r.v1(t, "GET", "/v1/models/openai/gpt-nope", ""); a.status != 404 || a.openAIError(t).Code != "model_not_found" {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

func TestV1Embeddings(t *testing.T) {
	r := newRig(t, map[string]string{"OPENAI_EMBEDDING_MODEL": "fake-embed"})
	resp, err := r.client().CreateEmbeddings(context.Background(), openai.EmbeddingRequestStrings{Input: []string{"alpha", "beta"}, Model: "openai/fake-embed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || resp.Data[1].Index != 1 || resp.Usage.PromptTokens != 2 {
		t.Fatalf("%+v", resp)
	}
	for i, in := range []string{"alpha", "beta"} {
		want := testllm.Vector(in, r.fake.Dim)
		for j := range want {
			if resp.Data[i].Embedding[j] != want[j] {
				t.Fatalf("vector %d differs", i)
			}
		}
	}
	// base64: little-endian float32s, as OpenAI encodes them
	a := r.v1(t, "POST", "/v1/embeddings", `{"model":"fake-embed","input":"alpha","encoding_format":"base64"}`)
	var b struct {
		Data []struct{ Embedding string }
	}
	a.json(t, &b)
	raw, err := base64.StdEncoding.DecodeString(b.Data[0].Embedding)
	if err != nil || len(raw) != 4*r.fake.Dim {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if got := math.Float32frombits(binary.LittleEndian.Uint32(raw)); got != testllm.Vector("alpha", r.fake.Dim)[0] {
		t.Fatalf("first component %v", got)
	}
	for _, tc := range []struct{ body, param string }{
		{`{"model":"fake-embed","input":[[1,2]]}`, "input"},
		{`{"model":"fake-embed","input":"x","dimensions":4}`, "dimensions"},
		{`{"model":"fake-embed","input":"x","encoding_format":"int8"}`, "encoding_format"},
	} {
		a := r.v1(t, "POST", "/v1/embeddings", tc.body)
		if e := a.openAIError(t); a.status != 400 || e.Param == nil || *e.Param != tc.param {
			t.Fatalf("%s: %d %s", tc.body, a.status, a.body)
		}
	}
	if a := r.v1(t, "POST", "/v1/embeddings", `{"model":"anthropic/fake-claude","input":"x"}`); a.status != 404 {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

func TestV1DeterministicChatIsCached(t *testing.T) {
	r := newRig(t, nil)
	mc := &memCache{m: map[string][]byte{}}
	r.svc.Cache.Provide(mc)
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		body := `{"model":"` + model + `","temperature":0,"messages":[{"role":"user","content":"same"}]}`
		first := r.v1(t, "POST", "/v1/chat/completions", body)
		second := r.v1(t, "POST", "/v1/chat/completions", body)
		if first.status != 200 || strings.TrimSpace(string(first.body)) != string(second.body) || second.header.Get("X-Gateway-Cache") != "hit" ||
			first.header.Get("X-Gateway-Cache") != "" {
			t.Fatalf("%s: %s / %s", model, first.body, second.header)
		}
		r.v1(t, "POST", "/v1/chat/completions", strings.Replace(body, `"temperature":0`, `"temperature":0.3`, 1))
	}
	if n := len(r.fake.Requests(testllm.OpenAIChat)); n != 2 {
		t.Fatalf("%d openai calls, want 2", n)
	}
	if n := len(r.fake.Requests(testllm.AnthropicMessages)); n != 2 {
		t.Fatalf("%d anthropic calls, want 2", n)
	}
}

// TestV1RefusesAmbiguousKeys: the gateway forwards the bytes it checked, so
// a body whose keys could mean two things (a case variant of a known field,
// a duplicate) is a 400 naming the field, and the upstream never sees it
// (issue 20 item 2: {"max_tokens":999999,"Max_Tokens":5,"n":7,"N":1} passed
// the checks on 5 and 1 and reached the upstream as 999999 and 7).
func TestV1RefusesAmbiguousKeys(t *testing.T) {
	r := newRig(t, nil)
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct{ path, model, body, param string }{
		{"/v1/chat/completions", "openai/fake-gpt", `{"max_tokens":999999,"Max_Tokens":5,"n":7,"N":1,%s,"model":%q}`, "Max_Tokens"},
		{"/v1/chat/completions", "openai/fake-gpt", `{"n":1,"n":7,%s,"model":%q}`, "n"},
		{"/v1/chat/completions", "fake-gpt", `{"max_tokens":5,"max\u005ftokens":999999,%s,"model":%q}`, "max_tokens"},
		{"/v1/chat/completions", "openai/fake-gpt", `{"Temperature":9,%s,"model":%q}`, "Temperature"},
		{"/v1/chat/completions", "openai/fake-gpt", `{"stream":true,"stream_options":{"include_usage":false,"INCLUDE_USAGE":true},%s,"model":%q}`, "stream_options.INCLUDE_USAGE"},
		{"/v1/chat/completions", "anthropic/fake-claude", `{"max_tokens":999999,"Max_Tokens":5,%s,"model":%q}`, "Max_Tokens"},
		{"/v1/chat/completions", "anthropic/fake-claude", `{"n":1,"n":7,%s,"model":%q}`, "n"},
		{"/v1/embeddings", "text-embedding-3-small", `{"input":"a","input":"b"%.0s,"model":%q}`, "input"},
	} {
		before := len(r.fake.Requests(testllm.OpenAIChat)) + len(r.fake.Requests(testllm.AnthropicMessages)) + len(r.fake.Requests(testllm.OpenAIEmbeddings))
		body := fmt.Sprintf(tc.body, msgs, tc.model)
		a := r.post(t, tc.path, body)
		var eb apierr.OpenAIBody
		a.json(t, &eb)
		if a.status != 400 || eb.Param() != tc.param || eb.Error.Type != "invalid_request_error" || !strings.Contains(eb.Error.Message, tc.param) {
			t.Errorf("%s: %d %s, want 400 naming %s", body, a.status, a.body, tc.param)
		}
		after := len(r.fake.Requests(testllm.OpenAIChat)) + len(r.fake.Requests(testllm.AnthropicMessages)) + len(r.fake.Requests(testllm.OpenAIEmbeddings))
		if after != before {
			t.Errorf("%s: the upstream saw the request", body)
		}
	}
	// the same fields spelled once, exactly, go through
	a := r.post(t, "/v1/chat/completions", `{"model":"openai/fake-gpt","max_tokens":5,"n":1,`+msgs+`}`)
	if a.status != 200 {
		t.Fatalf("plain request: %d %s", a.status, a.body)
	}
	reqs := r.fake.Requests(testllm.OpenAIChat)
	if got := reqs[len(reqs)-1].Body; got["max_tokens"] != float64(5) || got["n"] != float64(1) {
		t.Fatalf("upstream saw %v", got)
	}
}
