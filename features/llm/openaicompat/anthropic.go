package openaicompat

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// AnthropicVersion is the anthropic-version header of the requests the
// translation produces.
const AnthropicVersion = "2023-06-01"

// anthropicRequest is a Messages API request.
type anthropicRequest struct {
	Model         string              `json:"model"`
	MaxTokens     int                 `json:"max_tokens"`
	System        any                 `json:"system,omitempty"` // a string, or text blocks when one carries cache_control
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
	// CacheControl marks a prompt-caching breakpoint ({"type":"ephemeral"})
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type anthropicTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
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
	"parallel_tool_calls": true, "user": true, "safety_identifier": true,
}

// neutral are fields whose given value means "not set" for Anthropic; any
// other value of them cannot be translated.
var neutral = map[string]string{
	"presence_penalty": "0", "frequency_penalty": "0", "logprobs": "false", "store": "false",
	"modalities": `["text"]`,
}

// ToAnthropic translates a chat completion request (body is the client's
// JSON, r its decoding) into a Messages API request body for model. What
// has no Anthropic counterpart is refused, naming the field.
func ToAnthropic(body []byte, r *ChatRequest, model string, maxTokens int) ([]byte, *FieldError) {
	var fields rawObject
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, &FieldError{Message: "malformed JSON: " + err.Error()}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first refused field, the same every time
	for _, k := range keys {
		v := fields[k]
		if translated[k] || isNull(v) {
			continue
		}
		if want, ok := neutral[k]; ok && string(bytes.TrimSpace(v)) == want {
			continue
		}
		return nil, fieldErr(k, "has no counterpart in the Anthropic Messages API (model %s)", r.Model)
	}
	if ferr := checkObjects(fields); ferr != nil {
		return nil, ferr
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
	switch {
	case r.User != "" && r.SafetyIdentifier != "" && r.User != r.SafetyIdentifier:
		return nil, fieldErr("safety_identifier", "differs from user; Anthropic takes one metadata.user_id")
	case r.User != "":
		out.Metadata = &anthropicMetadata{UserID: r.User}
	case r.SafetyIdentifier != "":
		out.Metadata = &anthropicMetadata{UserID: r.SafetyIdentifier}
	}
	stops, ferr := stopSequences(r.Stop)
	if ferr != nil {
		return nil, ferr
	}
	out.StopSequences = stops
	rawMsgs, ferr := objectsAt(fields["messages"], "messages")
	if ferr != nil {
		return nil, ferr
	}
	var system [][]anthropicBlock // per system message, its text blocks
	cachedSystem := false
	for i, m := range r.Messages {
		if i < len(rawMsgs) {
			if ferr := checkMessage(i, rawMsgs[i], m.Role); ferr != nil {
				return nil, ferr
			}
		}
		var msgCache json.RawMessage
		if i < len(rawMsgs) {
			if msgCache, ferr = cacheControl(rawMsgs[i]["cache_control"], sprintf("messages[%d].cache_control", i)); ferr != nil {
				return nil, ferr
			}
		}
		blocks, sys, ferr := anthropicBlocks(i, m)
		if ferr != nil {
			return nil, ferr
		}
		if sys != nil {
			// a message's cache_control marks its last block
			if msgCache != nil && sys[len(sys)-1].CacheControl == nil {
				sys[len(sys)-1].CacheControl = msgCache
			}
			for _, b := range sys {
				cachedSystem = cachedSystem || b.CacheControl != nil
			}
			system = append(system, sys)
			continue
		}
		if msgCache != nil && blocks[len(blocks)-1].CacheControl == nil {
			blocks[len(blocks)-1].CacheControl = msgCache
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
	out.System = systemOf(system, cachedSystem)
	rawTools, ferr := objectsAt(fields["tools"], "tools")
	if ferr != nil {
		return nil, ferr
	}
	for i, t := range r.Tools {
		var toolCache json.RawMessage
		if i < len(rawTools) {
			if toolCache, ferr = checkTool(i, rawTools[i]); ferr != nil {
				return nil, ferr
			}
		}
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
		out.Tools = append(out.Tools, anthropicTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema, CacheControl: toolCache})
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

// systemOf is Anthropic's system: one string (each message's text, the
// messages separated by a blank line) unless a block carries
// cache_control, which only the block form can say.
func systemOf(msgs [][]anthropicBlock, cached bool) any {
	if len(msgs) == 0 {
		return nil
	}
	if cached {
		var blocks []anthropicBlock
		for _, m := range msgs {
			blocks = append(blocks, m...)
		}
		return blocks
	}
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		var sb strings.Builder
		for _, b := range m {
			sb.WriteString(*b.Text)
		}
		texts[i] = sb.String()
	}
	if joined := strings.Join(texts, "\n\n"); joined != "" {
		return joined
	}
	return nil // no system text: none is sent
}

// checkObjects refuses the keys the translation does not read in the
// top-level objects it takes whole (stream_options, response_format,
// tool_choice).
func checkObjects(fields rawObject) *FieldError {
	if fields.present("stream_options") {
		so, ferr := objectAt(fields["stream_options"], "stream_options")
		if ferr != nil {
			return ferr
		}
		if ferr := onlyKeys(so, "stream_options", "include_usage", "include_obfuscation"); ferr != nil {
			return ferr
		}
		// the gateway writes the chunks itself, without obfuscation padding
		if so.present("include_obfuscation") && string(bytes.TrimSpace(so["include_obfuscation"])) != "false" {
			return fieldErr("stream_options.include_obfuscation", "the translated stream carries no obfuscation; send false or leave it out")
		}
	}
	if fields.present("response_format") {
		rf, ferr := objectAt(fields["response_format"], "response_format")
		if ferr != nil {
			return ferr
		}
		if ferr := onlyKeys(rf, "response_format", "type"); ferr != nil {
			return ferr
		}
	}
	if v := fields["tool_choice"]; len(v) > 0 && bytes.TrimSpace(v)[0] == '{' {
		tc, ferr := objectAt(v, "tool_choice")
		if ferr != nil {
			return ferr
		}
		if ferr := onlyKeys(tc, "tool_choice", "type", "function"); ferr != nil {
			return ferr
		}
		if tc.present("function") {
			fn, ferr := objectAt(tc["function"], "tool_choice.function")
			if ferr != nil {
				return ferr
			}
			if ferr := onlyKeys(fn, "tool_choice.function", "name"); ferr != nil {
				return ferr
			}
		}
	}
	return nil
}

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
	CacheControl json.RawMessage `json:"cache_control"`
}

// anthropicBlocks translates message i: its blocks, or for a system or
// developer message its text blocks (the second result).
func anthropicBlocks(i int, m Message) ([]anthropicBlock, []anthropicBlock, *FieldError) {
	at := func(f string) string { return sprintf("messages[%d]%s", i, f) }
	if m.Name != "" {
		return nil, nil, fieldErr(at(".name"), "participant names cannot be translated for Anthropic")
	}
	var parts []contentPart
	var text *string
	if len(m.Content) > 0 && !isNull(m.Content) {
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			text = &s
		} else if json.Unmarshal(m.Content, &parts) != nil {
			return nil, nil, fieldErr(at(".content"), "want a string or an array of content parts")
		}
	}
	// each part's cache_control, checked once
	caches := make([]json.RawMessage, len(parts))
	for j, p := range parts {
		cc, ferr := cacheControl(p.CacheControl, at(sprintf(".content[%d].cache_control", j)))
		if ferr != nil {
			return nil, nil, ferr
		}
		caches[j] = cc
	}
	switch m.Role {
	case "system", "developer":
		if text != nil {
			return nil, []anthropicBlock{{Type: "text", Text: text}}, nil
		}
		var sys []anthropicBlock
		for j, p := range parts {
			if p.Type != "text" {
				return nil, nil, fieldErr(at(sprintf(".content[%d].type", j)), "system content must be text, got %q", p.Type)
			}
			t := p.Text
			sys = append(sys, anthropicBlock{Type: "text", Text: &t, CacheControl: caches[j]})
		}
		if len(sys) == 0 {
			return nil, nil, fieldErr(at(".content"), "a system message needs text")
		}
		return nil, sys, nil
	case "user", "assistant":
	case "tool":
		if m.ToolCallID == "" {
			return nil, nil, fieldErr(at(".tool_call_id"), "a tool message needs the id of the call it answers")
		}
		var s string
		if text != nil {
			s = *text
		}
		var cc json.RawMessage
		for j, p := range parts {
			if p.Type != "text" {
				return nil, nil, fieldErr(at(sprintf(".content[%d].type", j)), "tool results must be text, got %q", p.Type)
			}
			s += p.Text
			if caches[j] != nil {
				cc = caches[j] // the parts become one tool_result block
			}
		}
		return []anthropicBlock{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: &s, CacheControl: cc}}, nil, nil
	default:
		return nil, nil, fieldErr(at(".role"), "want system, developer, user, assistant or tool, got %q", m.Role)
	}
	var blocks []anthropicBlock
	if text != nil && *text != "" {
		blocks = append(blocks, anthropicBlock{Type: "text", Text: text})
	}
	for j, p := range parts {
		switch {
		case p.Type == "text":
			t := p.Text
			blocks = append(blocks, anthropicBlock{Type: "text", Text: &t, CacheControl: caches[j]})
		case p.Type == "image_url" && m.Role == "user" && p.ImageURL != nil:
			src, ok := imageFrom(p.ImageURL.URL)
			if !ok {
				return nil, nil, fieldErr(at(sprintf(".content[%d].image_url.url", j)), "want an https URL or a base64 data: URL")
			}
			blocks = append(blocks, anthropicBlock{Type: "image", Source: src, CacheControl: caches[j]})
		default:
			return nil, nil, fieldErr(at(sprintf(".content[%d].type", j)), "%q content cannot be translated for Anthropic", p.Type)
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
				return nil, nil, fieldErr(at(sprintf(".tool_calls[%d].function.arguments", j)), "want a JSON object")
			}
			blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: args})
		}
	} else if len(m.ToolCalls) > 0 {
		return nil, nil, fieldErr(at(".tool_calls"), "only assistant messages carry tool calls")
	}
	if len(blocks) == 0 {
		return nil, nil, fieldErr(at(".content"), "must not be empty")
	}
	return blocks, nil, nil
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
