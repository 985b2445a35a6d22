// Package openaiapi adapts any OpenAI-compatible server (go-openai) to the
// provider shapes: chat, streamed chat and embeddings. It makes exactly one
// upstream request per call; retries and deadlines belong to the caller.
package openaiapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

// Name is the provider's name in requests, metrics and errors.
const Name = "openai"

// Client talks to one OpenAI-compatible base URL.
type Client struct {
	c   *openai.Client
	red *provider.Redactor
}

// New builds a client; it does no I/O. httpClient carries the transport
// timeouts (go-openai's default client has none).
func New(baseURL, apiKey string, httpClient *http.Client) *Client {
	cfg := openai.DefaultConfig(apiKey)
	cfg.BaseURL = strings.TrimRight(baseURL, "/")
	cfg.HTTPClient = httpClient
	return &Client{c: openai.NewClientWithConfig(cfg), red: provider.NewRedactor(baseURL, apiKey)}
}

func messages(req provider.Request) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, len(req.Messages))
	for i, m := range req.Messages {
		out[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	return out
}

func chatRequest(req provider.Request, stream bool) openai.ChatCompletionRequest {
	r := openai.ChatCompletionRequest{
		Model:     req.Model,
		Messages:  messages(req),
		MaxTokens: req.MaxTokens,
		Stream:    stream,
	}
	if req.Temperature != nil {
		// go-openai omits a zero temperature (omitempty); its documented
		// workaround is the smallest positive float32, which is 0 in effect.
		r.Temperature = float32(*req.Temperature)
		if r.Temperature == 0 {
			r.Temperature = math.SmallestNonzeroFloat32
		}
	}
	if stream {
		r.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	return r
}

// Chat makes one chat completion call.
func (c *Client) Chat(ctx context.Context, req provider.Request) (provider.Response, error) {
	resp, err := c.c.CreateChatCompletion(ctx, chatRequest(req, false))
	if err != nil {
		return provider.Response{}, c.convert(ctx, err)
	}
	if len(resp.Choices) == 0 {
		return provider.Response{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed, Message: "answer has no choices"}
	}
	ch := resp.Choices[0]
	return provider.Response{
		Model:        resp.Model,
		Text:         ch.Message.Content,
		FinishReason: string(ch.FinishReason),
		Usage: provider.Usage{
			PromptTokens:     resp.Usage.PromptTokens,
			CompletionTokens: resp.Usage.CompletionTokens,
			TotalTokens:      resp.Usage.TotalTokens,
		},
	}, nil
}

// Stream opens a streamed chat completion. Errors of the opening request
// (status, unreachable) come back here; later ones from Next.
func (c *Client) Stream(ctx context.Context, req provider.Request) (provider.Stream, error) {
	s, err := c.c.CreateChatCompletionStream(ctx, chatRequest(req, true))
	if err != nil {
		return nil, c.convert(ctx, err)
	}
	return &stream{ctx: ctx, s: s, c: c}, nil
}

type stream struct {
	ctx    context.Context
	c      *Client
	s      *openai.ChatCompletionStream
	finish string
	usage  *provider.Usage
	done   bool
}

// Next returns the next text piece; the finish reason and the usage (which
// OpenAI sends in a chunk of its own) are folded into one final chunk.
func (s *stream) Next() (provider.Chunk, error) {
	for !s.done {
		resp, err := s.s.Recv()
		if errors.Is(err, io.EOF) {
			s.done = true
			if s.finish == "" {
				// go-openai reports a cut connection as a plain end; an
				// answer without its finish_reason is incomplete.
				return provider.Chunk{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed,
					Message: "stream ended without a finish_reason (cut short?)"}
			}
			return provider.Chunk{FinishReason: s.finish, Usage: s.usage}, nil
		}
		if err != nil {
			return provider.Chunk{}, s.c.convert(s.ctx, err)
		}
		if resp.Usage != nil {
			s.usage = &provider.Usage{
				PromptTokens:     resp.Usage.PromptTokens,
				CompletionTokens: resp.Usage.CompletionTokens,
				TotalTokens:      resp.Usage.TotalTokens,
			}
		}
		if len(resp.Choices) == 0 {
			continue
		}
		ch := resp.Choices[0]
		if ch.FinishReason != "" {
			s.finish = string(ch.FinishReason)
		}
		if ch.Delta.Content != "" {
			return provider.Chunk{Delta: ch.Delta.Content}, nil
		}
	}
	return provider.Chunk{}, io.EOF
}

func (s *stream) Close() error { return s.s.Close() }

// Embed returns one vector per input, in input order.
func (c *Client) Embed(ctx context.Context, inputs []string, model string) ([][]float32, provider.Usage, error) {
	resp, err := c.c.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{Input: inputs, Model: openai.EmbeddingModel(model)})
	if err != nil {
		return nil, provider.Usage{}, c.convert(ctx, err)
	}
	if len(resp.Data) != len(inputs) {
		return nil, provider.Usage{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed,
			Message: fmt.Sprintf("%d embeddings for %d inputs", len(resp.Data), len(inputs))}
	}
	out := make([][]float32, len(inputs))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(out) || out[d.Index] != nil || len(d.Embedding) == 0 {
			return nil, provider.Usage{}, &provider.Error{Provider: Name, Kind: provider.KindMalformed,
				Message: fmt.Sprintf("bad embedding index %d or empty vector", d.Index)}
		}
		out[d.Index] = d.Embedding
	}
	return out, provider.Usage{PromptTokens: resp.Usage.PromptTokens, TotalTokens: resp.Usage.TotalTokens}, nil
}

// convert maps go-openai's errors onto provider errors, without the
// credentials an upstream or the transport may quote.
func (c *Client) convert(ctx context.Context, err error) error {
	return c.red.Error(convertErr(ctx, err))
}

func convertErr(ctx context.Context, err error) error {
	var api *openai.APIError
	var re *openai.RequestError
	switch {
	case errors.As(err, &api) && api.HTTPStatusCode > 0:
		return &provider.Error{Provider: Name, Kind: provider.KindStatus, Status: api.HTTPStatusCode, Message: api.Message, Err: err}
	case errors.As(err, &re) && re.HTTPStatusCode > 0:
		// cut by the redactor after the credentials are out (convert)
		msg := strings.TrimSpace(string(re.Body))
		if msg == "" {
			msg = re.HTTPStatus
		}
		return &provider.Error{Provider: Name, Kind: provider.KindStatus, Status: re.HTTPStatusCode, Message: msg, Err: err}
	case errors.As(err, &api):
		// an error object inside a 200 stream
		return &provider.Error{Provider: Name, Kind: provider.KindStatus, Status: http.StatusBadGateway, Message: api.Message, Err: err}
	}
	return provider.Classify(ctx, Name, err)
}
