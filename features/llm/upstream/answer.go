package upstream

import (
	"context"
	"encoding/json"
	"io"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

// Answer is a non-streamed chat answer in OpenAI's chat.completion format,
// with the token usage it reports.
type Answer struct {
	Body  []byte
	Usage provider.Usage
}

// Complete makes one non-streamed chat call with body (the provider's
// request format). An OpenAI-compatible answer comes back as it came (only
// its usage is read, found without decoding the rest); an Anthropic answer
// translated.
func (c *Client) Complete(ctx context.Context, body []byte) (Answer, error) {
	b, err := c.read(ctx, c.chat, body)
	if err != nil {
		return Answer{}, err
	}
	if c.name == Anthropic {
		cc, err := openaicompat.FromAnthropic(b, time.Now().Unix())
		if err != nil {
			return Answer{}, c.malformed("%s", err.Error())
		}
		out, err := json.Marshal(cc)
		if err != nil {
			return Answer{}, c.malformed("%s", err.Error())
		}
		return Answer{Body: out, Usage: usageOf(cc.Usage)}, nil
	}
	var usage openai.Usage
	if raw, _ := openaicompat.TopLevel(b, "usage"); raw != nil && string(raw) != "null" {
		if err := json.Unmarshal(raw, &usage); err != nil {
			if !json.Valid(b) {
				return Answer{}, c.malformed("answer does not parse as JSON")
			}
			return Answer{}, c.malformed("usage does not parse: %s", err.Error())
		}
	}
	if !json.Valid(b) {
		return Answer{}, c.malformed("answer does not parse as JSON")
	}
	return Answer{Body: b, Usage: provider.Usage{PromptTokens: usage.PromptTokens, CompletionTokens: usage.CompletionTokens, TotalTokens: usage.TotalTokens}}, nil
}

// read posts body to t and reads the whole answer, bounded by MaxAnswer.
func (c *Client) read(ctx context.Context, t target, body []byte) ([]byte, error) {
	resp, err := c.post(ctx, t, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	if len(b) > MaxAnswer {
		return nil, c.malformed("answer over %d bytes", MaxAnswer)
	}
	return b, nil
}

func usageOf(u *openaicompat.Usage) provider.Usage {
	if u == nil {
		return provider.Usage{}
	}
	return provider.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

// Embed makes one embeddings call (OpenAI only) and returns one vector per
// input, in input order.
func (c *Client) Embed(ctx context.Context, inputs []string, model string) ([][]float32, provider.Usage, error) {
	// OpenAI's embeddings request and answer in go-openai's types (their
	// float form: the encoding_format is left to its default).
	body, err := json.Marshal(openai.EmbeddingRequest{Input: inputs, Model: openai.EmbeddingModel(model)})
	if err != nil {
		return nil, provider.Usage{}, err
	}
	b, err := c.read(ctx, c.embed, body)
	if err != nil {
		return nil, provider.Usage{}, err
	}
	var a openai.EmbeddingResponse
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, provider.Usage{}, c.malformed("embeddings answer does not parse: %s", err.Error())
	}
	if len(a.Data) != len(inputs) {
		return nil, provider.Usage{}, c.malformed("%d embeddings for %d inputs", len(a.Data), len(inputs))
	}
	out := make([][]float32, len(inputs))
	for _, d := range a.Data {
		if d.Index < 0 || d.Index >= len(out) || out[d.Index] != nil || len(d.Embedding) == 0 {
			return nil, provider.Usage{}, c.malformed("bad embedding index %d or empty vector", d.Index)
		}
		out[d.Index] = d.Embedding
	}
	return out, provider.Usage{PromptTokens: a.Usage.PromptTokens, TotalTokens: a.Usage.TotalTokens}, nil
}
