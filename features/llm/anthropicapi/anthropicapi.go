// Package anthropicapi adapts the Anthropic Messages API (anthropic-sdk-go
// v2) to the provider shapes. The SDK is built without its environment
// defaults, so it reads no ANTHROPIC_* variable and no profile file: all
// configuration comes from internal/config. The SDK's own retries are off;
// retries and deadlines belong to the caller.
package anthropicapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

// Name is the provider's name in requests, metrics and errors.
const Name = "anthropic"

// Client talks to one Anthropic base URL.
type Client struct {
	c   anthropic.Client
	red *provider.Redactor
}

// New builds a client; it does no I/O.
func New(baseURL, apiKey string, httpClient *http.Client) *Client {
	return &Client{c: anthropic.NewClient(
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(apiKey),
		option.WithBaseURL(baseURL),
		option.WithHTTPClient(httpClient),
		option.WithMaxRetries(0),
	), red: provider.NewRedactor(baseURL, apiKey)}
}

func params(req provider.Request) (anthropic.MessageNewParams, []option.RequestOption) {
	p := anthropic.MessageNewParams{Model: anthropic.Model(req.Model), MaxTokens: int64(req.MaxTokens)}
	for _, m := range req.Messages {
		switch m.Role {
		case "system":
			p.System = append(p.System, anthropic.TextBlockParam{Text: m.Content})
		case "assistant":
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content)))
		default:
			p.Messages = append(p.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	var opts []option.RequestOption
	if req.Temperature != nil {
		// v2 of the SDK has no typed temperature field; the API still
		// accepts it for the models that support it.
		opts = append(opts, option.WithJSONSet("temperature", *req.Temperature))
	}
	return p, opts
}

// Chat makes one Messages call.
func (c *Client) Chat(ctx context.Context, req provider.Request) (provider.Response, error) {
	p, opts := params(req)
	msg, err := c.c.Messages.New(ctx, p, opts...)
	if err != nil {
		return provider.Response{}, c.convert(ctx, err)
	}
	if msg.ID == "" || msg.Type != "message" {
		return provider.Response{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed, Message: "answer is not a message object"}
	}
	var text strings.Builder
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	in, out := int(msg.Usage.InputTokens), int(msg.Usage.OutputTokens)
	return provider.Response{
		Model:        string(msg.Model),
		Text:         text.String(),
		FinishReason: finishReason(string(msg.StopReason)),
		Usage:        provider.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out},
	}, nil
}

// finishReason maps Anthropic stop reasons onto the OpenAI vocabulary, the
// same mapping the /v1 gateway uses.
func finishReason(s string) string { return openaicompat.FinishReason(s) }

// Stream opens a streamed Messages call. The SDK reports the opening
// request's failure at the first event, so Stream reads ahead until the
// first event arrives; that way a 429 or 500 is an error of Stream (and
// retriable) rather than of the first Next.
func (c *Client) Stream(ctx context.Context, req provider.Request) (provider.Stream, error) {
	p, opts := params(req)
	s := &stream{ctx: ctx, c: c, s: c.c.Messages.NewStreaming(ctx, p, opts...)}
	if !s.s.Next() {
		err := s.s.Err()
		s.s.Close()
		if err == nil {
			return nil, &provider.Error{Provider: Name, Kind: provider.KindMalformed, Message: "stream ended before its first event"}
		}
		return nil, c.convert(ctx, err)
	}
	s.pending = true
	return s, nil
}

type stream struct {
	ctx     context.Context
	c       *Client
	s       *ssestream.Stream[anthropic.MessageStreamEventUnion]
	pending bool // s.Current() holds an event not handled yet
	started bool
	stopped bool
	finish  string
	usage   provider.Usage
}

// Next follows the event order message_start, content_block_start,
// content_block_delta..., content_block_stop, message_delta, message_stop;
// text deltas become chunks, message_stop the final chunk.
func (s *stream) Next() (provider.Chunk, error) {
	for {
		if s.stopped {
			return provider.Chunk{}, io.EOF
		}
		if !s.pending {
			if !s.s.Next() {
				if err := s.s.Err(); err != nil {
					return provider.Chunk{}, s.c.convert(s.ctx, err)
				}
				return provider.Chunk{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed, Message: "stream ended without message_stop"}
			}
		}
		s.pending = false
		ev := s.s.Current()
		switch ev.Type {
		case "message_start":
			s.started = true
			s.usage.PromptTokens = int(ev.Message.Usage.InputTokens)
			s.usage.CompletionTokens = int(ev.Message.Usage.OutputTokens)
		case "content_block_delta":
			if !s.started {
				return provider.Chunk{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed, Message: "content before message_start"}
			}
			if ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
				return provider.Chunk{Delta: ev.Delta.Text}, nil
			}
		case "message_delta":
			if ev.Delta.StopReason != "" {
				s.finish = finishReason(string(ev.Delta.StopReason))
			}
			if ev.Usage.OutputTokens > 0 {
				s.usage.CompletionTokens = int(ev.Usage.OutputTokens)
			}
		case "message_stop":
			s.stopped = true
			s.usage.TotalTokens = s.usage.PromptTokens + s.usage.CompletionTokens
			u := s.usage
			return provider.Chunk{FinishReason: s.finish, Usage: &u}, nil
		}
	}
}

func (s *stream) Close() error { return s.s.Close() }

// convert maps the SDK's errors onto provider errors, without the
// credentials an upstream or the transport may quote.
func (c *Client) convert(ctx context.Context, err error) error {
	return c.red.Error(convertErr(ctx, err))
}

func convertErr(ctx context.Context, err error) error {
	var api *anthropic.Error
	if errors.As(err, &api) && api.StatusCode > 0 {
		e := &provider.Error{Provider: Name, Kind: provider.KindStatus, Status: api.StatusCode, Message: api.Message, Err: err}
		if e.Message == "" {
			e.Message = http.StatusText(api.StatusCode)
		}
		if api.Response != nil {
			e.RetryAfter = provider.ParseRetryAfter(api.Response.Header.Get("Retry-After"))
		}
		return e
	}
	return provider.Classify(ctx, Name, err)
}
