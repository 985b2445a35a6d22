// Package openaicompat holds the OpenAI wire format the /v1 gateway speaks
// (chat completion requests, answers, stream chunks), its translation to and
// from the Anthropic Messages API, the SSE framing of both, and byte-level
// edits of a request body that keep everything the gateway does not touch
// exactly as the client sent it. It does no I/O of its own beyond reading a
// stream it is handed.
package openaicompat

import (
	"encoding/json"
	"fmt"
)

// Provider prefixes of a model name: "openai/gpt-4o-mini" goes to the
// OpenAI-compatible upstream, "anthropic/claude-..." to Anthropic.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
)

// ChatRequest is what the gateway reads of a chat completion request. For an
// OpenAI-compatible upstream the client's body is forwarded as it came
// (only the model is rewritten), so fields not listed here pass through.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	N                   *int            `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *StreamOptions  `json:"stream_options"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	Tools               []Tool          `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	User                string          `json:"user"`
	SafetyIdentifier    string          `json:"safety_identifier"`
}

// ChatProbe is the part of a chat request the gateway checks and routes
// by. Decoding it skips the messages' contents (each decodes into an empty
// struct), so a request forwarded as it came costs little to look at;
// ChatRequest is decoded only where it is translated.
type ChatProbe struct {
	Model               string         `json:"model"`
	Messages            []struct{}     `json:"messages"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	Temperature         *float64       `json:"temperature"`
	N                   *int           `json:"n"`
	Stream              bool           `json:"stream"`
	StreamOptions       *StreamOptions `json:"stream_options"`
}

// StreamOptions of a streamed request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one turn. Content is a string, an array of parts, or null.
type Message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []ToolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// Tool is a function the model may call.
type Tool struct {
	Type     string       `json:"type"`
	Function ToolFunction `json:"function"`
}

// ToolFunction declares a function.
type ToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolCall is a call the model made; Arguments is a JSON text.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and its arguments (a JSON text).
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatCompletion is a non-streamed answer.
type ChatCompletion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
}

// Choice is the one choice of an answer (n is always 1 here).
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     *struct{}       `json:"logprobs"`
}

// ResponseMessage is the assistant's answer.
type ResponseMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Chunk is one chat.completion.chunk of a streamed answer.
type Chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is a choice's delta; FinishReason is null until the last.
type ChunkChoice struct {
	Index        int       `json:"index"`
	Delta        Delta     `json:"delta"`
	FinishReason *string   `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

// Delta is what a chunk adds to the answer.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is a piece of a tool call; the first carries id and name,
// later ones pieces of the arguments.
type ToolCallDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function FunctionDelta `json:"function"`
}

// FunctionDelta is a piece of a function call.
type FunctionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// FieldError is a request the gateway refuses: Param names the field
// (messages[2].content[0].type, temperature, ...), for a 400.
type FieldError struct {
	Param   string
	Message string
}

func (e *FieldError) Error() string { return e.Param + ": " + e.Message }

func fieldErr(param, format string, args ...any) *FieldError {
	return &FieldError{Param: param, Message: param + ": " + fmt.Sprintf(format, args...)}
}

// FinishReason maps an Anthropic stop reason onto OpenAI's vocabulary.
func FinishReason(stop string) string {
	switch stop {
	case "end_turn", "stop_sequence", "pause_turn", "":
		return "stop"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return stop
}

var sprintf = fmt.Sprintf
