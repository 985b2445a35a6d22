package openaicompat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// anthropicUsage counts tokens; cached input counts as prompt tokens.
type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

func (u anthropicUsage) prompt() int {
	return u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

type anthropicContent struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type anthropicMessageAnswer struct {
	ID         string             `json:"id"`
	Type       string             `json:"type"`
	Model      string             `json:"model"`
	Content    []anthropicContent `json:"content"`
	StopReason string             `json:"stop_reason"`
	Usage      anthropicUsage     `json:"usage"`
}

// FromAnthropic translates a Messages API answer into a chat completion.
// Text blocks are joined; tool_use blocks become tool calls; thinking
// blocks (which OpenAI's format has no place for) are left out.
func FromAnthropic(body []byte, created int64) (ChatCompletion, error) {
	var m anthropicMessageAnswer
	if err := json.Unmarshal(body, &m); err != nil {
		return ChatCompletion{}, fmt.Errorf("decode Anthropic answer: %w", err)
	}
	if m.Type != "message" || m.ID == "" {
		return ChatCompletion{}, errors.New("Anthropic answer is not a message object")
	}
	var text strings.Builder
	hasText := false
	msg := ResponseMessage{Role: "assistant"}
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
			hasText = true
		case "tool_use":
			args := string(b.Input)
			if args == "" || args == "null" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: b.ID, Type: "function", Function: FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	if hasText || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	p, c := m.Usage.prompt(), m.Usage.OutputTokens
	return ChatCompletion{
		ID: m.ID, Object: "chat.completion", Created: created, Model: m.Model,
		Choices: []Choice{{Message: msg, FinishReason: FinishReason(m.StopReason)}},
		Usage:   &Usage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c},
	}, nil
}

// AnthropicError reads the message of an Anthropic error body
// ({"type":"error","error":{"type","message"}}).
func AnthropicError(body []byte) (typ, msg string) {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Error.Type, e.Error.Message
}

// OpenAIErrorDetail reads an OpenAI error body ({"error":{...}}).
func OpenAIErrorDetail(body []byte) (msg, typ, param, code string) {
	var e struct {
		Error struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Param   *string         `json:"param"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", "", "", ""
	}
	if e.Error.Param != nil {
		param = *e.Error.Param
	}
	var cs string
	if json.Unmarshal(e.Error.Code, &cs) == nil {
		code = cs
	}
	return e.Error.Message, e.Error.Type, param, code
}

// AnthropicStream translates the Messages API streaming events into chat
// completion chunks.
type AnthropicStream struct {
	// IncludeUsage adds the final usage chunk (stream_options.include_usage).
	IncludeUsage bool
	Created      int64

	id, model string
	started   bool
	tools     map[int]int // content block index -> tool call index
	finish    string
	usage     anthropicUsage
	done      bool
}

// StreamEvent is what one Anthropic event became.
type StreamEvent struct {
	Chunks []Chunk
	// Usage is set at the end of the answer.
	Usage *Usage
	// Done: message_stop arrived; the answer is complete.
	Done bool
}

type anthropicEvent struct {
	Type    string                 `json:"type"`
	Message anthropicMessageAnswer `json:"message"`
	Index   int                    `json:"index"`
	Block   anthropicContent       `json:"content_block"`
	Delta   struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *anthropicUsage `json:"usage"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// UpstreamStreamError is an error event inside an Anthropic stream.
type UpstreamStreamError struct{ Type, Message string }

func (e *UpstreamStreamError) Error() string { return e.Type + ": " + e.Message }

func (s *AnthropicStream) chunk(d Delta, finish *string) Chunk {
	return Chunk{ID: s.id, Object: "chat.completion.chunk", Created: s.Created, Model: s.model,
		Choices: []ChunkChoice{{Delta: d, FinishReason: finish}}}
}

// Event translates one event (data is its JSON). Events out of order or
// that do not parse are errors: a malformed answer.
func (s *AnthropicStream) Event(data []byte) (StreamEvent, error) {
	var ev anthropicEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return StreamEvent{}, fmt.Errorf("decode Anthropic event: %w", err)
	}
	if s.done {
		return StreamEvent{}, fmt.Errorf("Anthropic event %q after message_stop", ev.Type)
	}
	if !s.started && ev.Type != "message_start" && ev.Type != "ping" && ev.Type != "error" {
		return StreamEvent{}, fmt.Errorf("Anthropic event %q before message_start", ev.Type)
	}
	switch ev.Type {
	case "message_start":
		s.started = true
		s.id, s.model, s.usage = ev.Message.ID, ev.Message.Model, ev.Message.Usage
		s.tools = map[int]int{}
		empty := ""
		return StreamEvent{Chunks: []Chunk{s.chunk(Delta{Role: "assistant", Content: &empty}, nil)}}, nil
	case "content_block_start":
		if ev.Block.Type != "tool_use" {
			return StreamEvent{}, nil
		}
		n := len(s.tools)
		s.tools[ev.Index] = n
		return StreamEvent{Chunks: []Chunk{s.chunk(Delta{ToolCalls: []ToolCallDelta{{Index: n, ID: ev.Block.ID, Type: "function",
			Function: FunctionDelta{Name: ev.Block.Name}}}}, nil)}}, nil
	case "content_block_delta":
		switch ev.Delta.Type {
		case "text_delta":
			t := ev.Delta.Text
			return StreamEvent{Chunks: []Chunk{s.chunk(Delta{Content: &t}, nil)}}, nil
		case "input_json_delta":
			n, ok := s.tools[ev.Index]
			if !ok {
				return StreamEvent{}, fmt.Errorf("input_json_delta for block %d, which is not a tool_use", ev.Index)
			}
			return StreamEvent{Chunks: []Chunk{s.chunk(Delta{ToolCalls: []ToolCallDelta{{Index: n,
				Function: FunctionDelta{Arguments: ev.Delta.PartialJSON}}}}, nil)}}, nil
		}
		return StreamEvent{}, nil // thinking and signature deltas have no OpenAI counterpart
	case "message_delta":
		if ev.Delta.StopReason != "" {
			s.finish = FinishReason(ev.Delta.StopReason)
		}
		if ev.Usage != nil {
			s.usage.OutputTokens = ev.Usage.OutputTokens
			if ev.Usage.InputTokens > 0 {
				s.usage.InputTokens = ev.Usage.InputTokens
			}
		}
		return StreamEvent{}, nil
	case "message_stop":
		s.done = true
		finish := s.finish
		if finish == "" {
			finish = "stop"
		}
		p, c := s.usage.prompt(), s.usage.OutputTokens
		u := &Usage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c}
		out := StreamEvent{Chunks: []Chunk{s.chunk(Delta{}, &finish)}, Usage: u, Done: true}
		if s.IncludeUsage {
			out.Chunks = append(out.Chunks, Chunk{ID: s.id, Object: "chat.completion.chunk", Created: s.Created,
				Model: s.model, Choices: []ChunkChoice{}, Usage: u})
		}
		return out, nil
	case "error":
		return StreamEvent{}, &UpstreamStreamError{Type: ev.Error.Type, Message: ev.Error.Message}
	}
	return StreamEvent{}, nil // ping, content_block_stop, and events added later
}
