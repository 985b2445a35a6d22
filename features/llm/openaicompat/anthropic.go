package openaicompat

import (
	"bytes"
	"encoding/json"
	"strings"
)

// AnthropicVersion is the anthropic-version header of the requests the
// translation produces.
const AnthropicVersion = "2023-06-01"

// anthropicRequest is a Messages API request.
type anthropicRequest struct {
	Model         string              `json:"model"`
	MaxTokens     int                 `json:"max_tokens"`
	System        string              `json:"system,omitempty"`
	Messages      []anthropicMessage  `json:"messages"`
	Temperature   *float64            `json:"temperature,omitempty"`
	TopP          *float64            `json:"top_p,omitempty"`
	StopSequences []string            `json:"stop_sequences,omitempty"`
	Stream        bool                `json:"stream,omitempty"`
	Tools         []anthropicTool     `json:"tools,omitempty"`
	ToolChoice    *anthropicToolChoic `json:"tool_choice,omitempty"`
	Metadata      *anthropicMetadata  `json:"metadata,omitempty"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content []anthropicBlock `json:"content"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   *string         `json:"content,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicToolChoic struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type anthropicMetadata struct {
	UserID string `json:"user_id"`
}

// translated lists the request fields the Anthropic translation handles;
// any other field with a value that is not null is a 400 naming it.
var translated = map[string]bool{
	"model": true, "messages": true, "max_tokens": true, "max_completion_tokens": true,
	"temperature": true, "top_p": true, "n": true, "stop": true, "stream": true,
	"stream_options": true, "response_format": true, "tools": true, "tool_choice": true,
	"parallel_tool_calls": true, "user": true,
}

// neutral are fields whose given value means "not set" for Anthropic; any
// other value of them cannot be translated.
var neutral = map[string]string{
	"presence_penalty": "0", "frequency_penalty": "0", "logprobs": "false", "store": "false",
}

// ToAnthropic translates a chat completion request (body is the client's
// JSON, r its decoding) into a Messages API request body for model. What
// has no Anthropic counterpart is refused, naming the field.
func ToAnthropic(body []byte, r *ChatRequest, model string, maxTokens int) ([]byte, *FieldError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, &FieldError{Message: "malformed JSON: " + err.Error()}
	}
	for k, v := range fields {
		if translated[k] || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		if want, ok := neutral[k]; ok && string(bytes.TrimSpace(v)) == want {
			continue
		}
		return nil, fieldErr(k, "has no counterpart in the Anthropic Messages API (model %s)", r.Model)
	}
	out := anthropicRequest{Model: model, MaxTokens: maxTokens, TopP: r.TopP, Stream: r.Stream}
	if r.Temperature != nil {
		if *r.Temperature > 1 {
			return nil, fieldErr("temperature", "Anthropic accepts 0 to 1, got %g", *r.Temperature)
		}
		out.Temperature = r.Temperature
	}
	if r.N != nil && *r.N != 1 {
		return nil, fieldErr("n", "Anthropic answers one choice; want 1, got %d", *r.N)
	}
	if len(r.ResponseFormat) > 0 && !isNull(r.ResponseFormat) {
		var rf struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(r.ResponseFormat, &rf) != nil || rf.Type != "text" {
			return nil, fieldErr("response_format", "only {\"type\":\"text\"} can be translated for Anthropic, got %s", r.ResponseFormat)
		}
	}
	if r.User != "" {
		out.Metadata = &anthropicMetadata{UserID: r.User}
	}
	stops, ferr := stopSequences(r.Stop)
	if ferr != nil {
		return nil, ferr
	}
	out.StopSequences = stops
	var system []string
	for i, m := range r.Messages {
		blocks, sys, ferr := anthropicBlocks(i, m)
		if ferr != nil {
			return nil, ferr
		}
		if sys != "" {
			system = append(system, sys)
			continue
		}
		role := m.Role
		if role == "tool" {
			role = "user"
		}
		// consecutive turns of one role (tool results, then a user turn)
		// become one Anthropic message
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
			continue
		}
		out.Messages = append(out.Messages, anthropicMessage{Role: role, Content: blocks})
	}
	if len(out.Messages) == 0 {
		return nil, fieldErr("messages", "Anthropic needs at least one user or assistant message besides system messages")
	}
	out.System = strings.Join(system, "\n\n")
	for i, t := range r.Tools {
		if t.Type != "function" {
			return nil, fieldErr(sprintf("tools[%d].type", i), "only function tools can be translated, got %q", t.Type)
		}
		if t.Function.Strict != nil && *t.Function.Strict {
			return nil, fieldErr(sprintf("tools[%d].function.strict", i), "strict schemas cannot be translated for Anthropic")
		}
		schema := t.Function.Parameters
		if len(schema) == 0 || isNull(schema) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, anthropicTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	tc, ferr := toolChoice(r.ToolChoice)
	if ferr != nil {
		return nil, ferr
	}
	if r.ParallelToolCalls != nil && !*r.ParallelToolCalls && len(out.Tools) > 0 {
		if tc == nil {
			tc = &anthropicToolChoic{Type: "auto"}
		}
		if tc.Type != "none" {
			tc.DisableParallelToolUse = true
		}
	}
	out.ToolChoice = tc
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &FieldError{Message: "cannot encode the Anthropic request: " + err.Error()}
	}
	return b, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func stopSequences(raw json.RawMessage) ([]string, *FieldError) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return nil, fieldErr("stop", "want a string or an array of strings")
	}
	return many, nil
}

func toolChoice(raw json.RawMessage) (*anthropicToolChoic, *FieldError) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return &anthropicToolChoic{Type: "auto"}, nil
		case "none":
			return &anthropicToolChoic{Type: "none"}, nil
		case "required":
			return &anthropicToolChoic{Type: "any"}, nil
		}
		return nil, fieldErr("tool_choice", "want auto, none, required or a function, got %q", s)
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Type != "function" || obj.Function.Name == "" {
		return nil, fieldErr("tool_choice", "want auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	return &anthropicToolChoic{Type: "tool", Name: obj.Function.Name}, nil
}

// contentPart is one element of an array content.
type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// anthropicBlocks translates message i: its blocks, or for a system or
// developer message its text.
func anthropicBlocks(i int, m Message) ([]anthropicBlock, string, *FieldError) {
	at := func(f string) string { return sprintf("messages[%d]%s", i, f) }
	if m.Name != "" {
		return nil, "", fieldErr(at(".name"), "participant names cannot be translated for Anthropic")
	}
	var parts []contentPart
	var text *string
	if len(m.Content) > 0 && !isNull(m.Content) {
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			text = &s
		} else if json.Unmarshal(m.Content, &parts) != nil {
			return nil, "", fieldErr(at(".content"), "want a string or an array of content parts")
		}
	}
	switch m.Role {
	case "system", "developer":
		if text != nil {
			return nil, *text, nil
		}
		var sb strings.Builder
		for j, p := range parts {
			if p.Type != "text" {
				return nil, "", fieldErr(at(sprintf(".content[%d].type", j)), "system content must be text, got %q", p.Type)
			}
			sb.WriteString(p.Text)
		}
		if sb.Len() == 0 {
			return nil, "", fieldErr(at(".content"), "a system message needs text")
		}
		return nil, sb.String(), nil
	case "user", "assistant":
	case "tool":
		if m.ToolCallID == "" {
			return nil, "", fieldErr(at(".tool_call_id"), "a tool message needs the id of the call it answers")
		}
		var s string
		if text != nil {
			s = *text
		}
		for j, p := range parts {
			if p.Type != "text" {
				return nil, "", fieldErr(at(sprintf(".content[%d].type", j)), "tool results must be text, got %q", p.Type)
			}
			s += p.Text
		}
		return []anthropicBlock{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: &s}}, "", nil
	default:
		return nil, "", fieldErr(at(".role"), "want system, developer, user, assistant or tool, got %q", m.Role)
	}
	var blocks []anthropicBlock
	if text != nil && *text != "" {
		blocks = append(blocks, anthropicBlock{Type: "text", Text: text})
	}
	for j, p := range parts {
		switch {
		case p.Type == "text":
			t := p.Text
			blocks = append(blocks, anthropicBlock{Type: "text", Text: &t})
		case p.Type == "image_url" && m.Role == "user" && p.ImageURL != nil:
			src, ok := imageFrom(p.ImageURL.URL)
			if !ok {
				return nil, "", fieldErr(at(sprintf(".content[%d].image_url.url", j)), "want an https URL or a base64 data: URL")
			}
			blocks = append(blocks, anthropicBlock{Type: "image", Source: src})
		default:
			return nil, "", fieldErr(at(sprintf(".content[%d].type", j)), "%q content cannot be translated for Anthropic", p.Type)
		}
	}
	if m.Role == "assistant" {
		for j, tc := range m.ToolCalls {
			args := json.RawMessage(tc.Function.Arguments)
			if len(bytes.TrimSpace(args)) == 0 {
				args = json.RawMessage(`{}`)
			}
			var obj map[string]json.RawMessage
			if json.Unmarshal(args, &obj) != nil {
				return nil, "", fieldErr(at(sprintf(".tool_calls[%d].function.arguments", j)), "want a JSON object")
			}
			blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: args})
		}
	} else if len(m.ToolCalls) > 0 {
		return nil, "", fieldErr(at(".tool_calls"), "only assistant messages carry tool calls")
	}
	if len(blocks) == 0 {
		return nil, "", fieldErr(at(".content"), "must not be empty")
	}
	return blocks, "", nil
}

func imageFrom(u string) (*imageSource, bool) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, b64 := strings.CutSuffix(meta, ";base64")
		if !ok || !b64 || mt == "" {
			return nil, false
		}
		return &imageSource{Type: "base64", MediaType: mt, Data: data}, true
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &imageSource{Type: "url", URL: u}, true
	}
	return nil, false
}
