package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	openai "github.com/sashabaranov/go-openai"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// Bounds of a chat request.
const (
	maxMessages    = 256
	maxModelName   = 200
	maxTemperature = 2.0
)

type chatRequest struct {
	Provider    string             `json:"provider"`
	Model       string             `json:"model"`
	Messages    []provider.Message `json:"messages"`
	MaxTokens   *int               `json:"max_tokens"`
	Temperature *float64           `json:"temperature"`
	Stream      bool               `json:"stream"`
}

// chatResponse is the one answer shape of both providers.
type chatResponse struct {
	Provider string `json:"provider"`
	provider.Response
	Cached bool `json:"cached"`
}

// validate checks the request and fills defaults; it returns a message for
// a 400 or "".
func (f *feature) validate(r *chatRequest) string {
	if r.Provider != "" && r.Provider != "openai" && r.Provider != "anthropic" {
		return fmt.Sprintf("provider %q is unknown: want openai or anthropic", r.Provider)
	}
	if len(r.Messages) == 0 {
		return "messages: want at least one {role, content}"
	}
	if len(r.Messages) > maxMessages {
		return fmt.Sprintf("messages: at most %d, got %d", maxMessages, len(r.Messages))
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return fmt.Sprintf("messages[%d].role: want system, user or assistant, got %q", i, m.Role)
		}
		if m.Content == "" {
			return fmt.Sprintf("messages[%d].content: must not be empty", i)
		}
	}
	if len(r.Model) > maxModelName {
		return fmt.Sprintf("model: at most %d characters", maxModelName)
	}
	if r.MaxTokens != nil && (*r.MaxTokens < 1 || *r.MaxTokens > f.cfg.MaxTokens) {
		return fmt.Sprintf("max_tokens: want 1 to %d (LLM_MAX_TOKENS), got %d", f.cfg.MaxTokens, *r.MaxTokens)
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > maxTemperature) {
		return fmt.Sprintf("temperature: want 0 to %g, got %g", maxTemperature, *r.Temperature)
	}
	return ""
}

func (f *feature) chat(w http.ResponseWriter, req *http.Request) {
	var r chatRequest
	if !apierr.ReadJSON(w, req, &r) {
		return
	}
	if msg := f.validate(&r); msg != "" {
		apierr.Error(w, req, http.StatusBadRequest, "bad_request", msg)
		return
	}
	name, client, why := f.lookup(r.Provider)
	if client == nil {
		apierr.Error(w, req, http.StatusServiceUnavailable, "provider_not_ready", why)
		return
	}
	model := r.Model
	if model == "" {
		model = f.defaultModel(name)
	}
	maxTokens := f.cfg.MaxTokens
	if r.MaxTokens != nil {
		maxTokens = *r.MaxTokens
	}
	call, msg := chatBody(client, model, r.Messages, maxTokens, r.Temperature, r.Stream)
	if msg != "" {
		apierr.Error(w, req, http.StatusBadRequest, "bad_request", msg)
		return
	}
	if r.Stream {
		f.relay(req.Context(), call, &chatSink{w: w, req: req, name: name})
		return
	}
	var cacheOp string
	if r.Temperature != nil && *r.Temperature == 0 {
		cacheOp = "chat" // deterministic
	}
	answer, cached, err := f.complete(req.Context(), call, cacheOp, func(b []byte) error {
		_, err := decodeChatAnswer(name, b)
		return err
	})
	if err != nil {
		abortUpstream(w, req, err)
		return
	}
	resp, err := decodeChatAnswer(name, answer)
	if err != nil {
		abortUpstream(w, req, err)
		return
	}
	if resp.Model == "" {
		resp.Model = model
	}
	apierr.WriteJSON(w, req, http.StatusOK, chatResponse{Provider: name, Response: resp, Cached: cached})
}

// upstreamChat is the chat completion request /api/v2/llm sends, in
// OpenAI's format; for Anthropic it is translated like a /v1 request.
type upstreamChat struct {
	Model         string                      `json:"model"`
	Messages      []provider.Message          `json:"messages"`
	MaxTokens     int                         `json:"max_tokens"`
	Temperature   *float64                    `json:"temperature,omitempty"`
	Stream        bool                        `json:"stream,omitempty"`
	StreamOptions *openaicompat.StreamOptions `json:"stream_options,omitempty"`
}

// chatBody builds the provider's request; a message for a 400 when the
// request cannot be put to it (Anthropic: temperature over 1, no turn
// besides system ones).
func chatBody(client *upstream.Client, model string, msgs []provider.Message, maxTokens int, temp *float64, stream bool) (chatCall, string) {
	req := upstreamChat{Model: model, Messages: msgs, MaxTokens: maxTokens, Temperature: temp, Stream: stream}
	call := chatCall{client: client, model: model}
	if client.Name() == upstream.Anthropic {
		b, err := json.Marshal(req)
		if err != nil {
			return call, err.Error()
		}
		var full openaicompat.ChatRequest
		if err := json.Unmarshal(b, &full); err != nil {
			return call, err.Error()
		}
		body, ferr := openaicompat.ToAnthropic(b, &full, model, maxTokens)
		if ferr != nil {
			return call, ferr.Message
		}
		call.body = body
		return call, ""
	}
	if stream {
		// the usage comes in a chunk of its own, for the final event
		req.StreamOptions = &openaicompat.StreamOptions{IncludeUsage: true}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return call, err.Error()
	}
	call.body = b
	return call, ""
}

// decodeChatAnswer reads the one answer shape of both providers (Anthropic's
// translated) from a chat.completion, in go-openai's type.
func decodeChatAnswer(prov string, b []byte) (provider.Response, error) {
	var cc openai.ChatCompletionResponse
	if err := json.Unmarshal(b, &cc); err != nil {
		return provider.Response{}, &provider.Error{Provider: prov, Kind: provider.KindMalformed, Message: "answer does not parse: " + err.Error(), Err: err}
	}
	if len(cc.Choices) == 0 {
		return provider.Response{}, &provider.Error{Provider: prov, Kind: provider.KindMalformed, Message: "answer has no choices"}
	}
	ch := cc.Choices[0]
	return provider.Response{Model: cc.Model, FinishReason: string(ch.FinishReason), Text: ch.Message.Content,
		Usage: provider.Usage{PromptTokens: cc.Usage.PromptTokens, CompletionTokens: cc.Usage.CompletionTokens, TotalTokens: cc.Usage.TotalTokens}}, nil
}

// chatSink writes a streamed /api/v2/llm answer: one `data: {"delta":...}`
// per piece of text, a final chunk with finish_reason and usage, then
// `data: [DONE]`; a failure after the first event is an `event: error`.
type chatSink struct {
	w       http.ResponseWriter
	req     *http.Request
	name    string
	started bool
	finish  string
	usage   *provider.Usage
}

func (s *chatSink) event(ev upstream.Event) (bool, error) {
	if ev.Usage != nil {
		s.usage = ev.Usage
	}
	if ev.Finish != "" {
		s.finish = ev.Finish
	}
	switch {
	case ev.Done:
		if s.finish == "" {
			return false, &provider.Error{Provider: s.name, Kind: provider.KindMalformed, Message: "stream ended without a finish_reason (cut short?)"}
		}
		if !s.write("", provider.Chunk{FinishReason: s.finish, Usage: s.usage}) {
			return false, nil
		}
		_, _ = io.WriteString(s.w, "data: [DONE]\n\n")
		flush(s.w)
		return true, nil
	case ev.Text != "":
		return s.write("", provider.Chunk{Delta: ev.Text}), nil
	}
	return true, nil
}

func (s *chatSink) fail(err error) {
	if !s.started {
		abortUpstream(s.w, s.req, err)
		return
	}
	code, _ := classify(err)
	s.write("error", apierr.Body{Error: apierr.Detail{Code: code, Message: err.Error()}})
}

// write writes one SSE event and flushes (the headers go out with the
// first); false when the client is gone.
func (s *chatSink) write(event string, v any) bool {
	if !s.started {
		s.started = true
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		h.Set("X-LLM-Provider", s.name)
		s.w.WriteHeader(http.StatusOK)
	}
	return writeEvent(s.w, s.req, event, v)
}

// writeEvent writes one SSE event and flushes; false when the client is gone.
func writeEvent(w http.ResponseWriter, req *http.Request, event string, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var buf []byte
	if event != "" {
		buf = append(buf, "event: "+event+"\n"...)
	}
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := w.Write(buf); err != nil {
		return false
	}
	flush(w)
	return req.Context().Err() == nil
}

// flush sends what was written to the client at once. Core's writer
// flushes (and renews its write deadline, HTTP_WRITE_TIMEOUT, as it does
// on every write); the controller finds it through any wrapper.
func flush(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }

// classify maps an upstream failure to the status and code the client
// gets: upstream 4xx/5xx and malformed answers 502, timeouts 504,
// unreachable 503.
func classify(err error) (string, int) {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return "upstream_error", http.StatusBadGateway
	}
	switch pe.Kind {
	case provider.KindStatus:
		return "upstream_error", http.StatusBadGateway
	case provider.KindTimeout:
		return "upstream_timeout", http.StatusGatewayTimeout
	case provider.KindUnreachable:
		return "upstream_unreachable", http.StatusServiceUnavailable
	case provider.KindMalformed:
		return "upstream_malformed", http.StatusBadGateway
	case provider.KindCanceled:
		return "canceled", 499 // client closed request; nobody reads it
	}
	return "upstream_error", http.StatusBadGateway
}

func abortUpstream(w http.ResponseWriter, req *http.Request, err error) {
	code, status := classify(err)
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Kind == provider.KindStatus {
		w.Header().Set("X-Upstream-Status", strconv.Itoa(pe.Status))
	}
	apierr.Error(w, req, status, code, err.Error())
}
