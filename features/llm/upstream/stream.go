package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

// Event is one piece of a streamed answer, in OpenAI's chunk format.
type Event struct {
	// Data is a chat.completion.chunk to relay as it is (an OpenAI-compatible
	// upstream's own bytes, or the translation of an Anthropic event); nil
	// when there is nothing to relay. Valid until the next Next.
	Data []byte
	// Text is the text the chunk adds to choice 0, Finish its finish_reason
	// (on the last chunk).
	Text, Finish string
	// Usage is the token usage, on the event where the upstream reports it.
	Usage *provider.Usage
	// Done: the answer is complete; nothing else is set.
	Done bool
}

// Stream is an open streamed answer. Next and Close are for one goroutine.
type Stream struct {
	c            *Client
	ctx          context.Context
	body         io.ReadCloser
	rd           *openaicompat.SSEReader
	includeUsage bool

	// Anthropic: the translation and the chunks of one event not yet read
	tr      *openaicompat.AnthropicStream
	pending []openaicompat.Chunk
	usage   *provider.Usage // reported with the next chunk
	stopped bool            // message_stop came
}

// Stream opens a streamed chat call with body (the provider's request
// format, asking for a stream; an OpenAI-compatible one also for the usage
// chunk, which is relayed only with includeUsage). A failure to open it
// (status, unreachable) is an error of Stream, so the caller may retry it;
// later ones come from Next. The stream reads with ctx.
func (c *Client) Stream(ctx context.Context, body []byte, includeUsage bool) (*Stream, error) {
	resp, err := c.post(ctx, c.chat, body)
	if err != nil {
		return nil, err
	}
	s := &Stream{c: c, ctx: ctx, body: resp.Body, rd: openaicompat.NewSSEReader(resp.Body), includeUsage: includeUsage}
	if c.name == Anthropic {
		s.tr = &openaicompat.AnthropicStream{IncludeUsage: includeUsage, Created: time.Now().Unix()}
	}
	return s, nil
}

// Close ends the stream and releases its connection.
func (s *Stream) Close() error { return s.body.Close() }

// Next returns the next event. A stream that ends before the answer is
// complete ([DONE], message_stop) is a malformed answer; an error event
// inside the stream is a status error (502, or 529 for Anthropic's
// overloaded_error).
func (s *Stream) Next() (Event, error) {
	if s.tr != nil {
		return s.nextAnthropic()
	}
	ev, err := s.event()
	if err != nil {
		return Event{}, err
	}
	if string(ev.Data) == "[DONE]" {
		return Event{Done: true}, nil
	}
	// an OpenAI chunk, read in go-openai's type; an error sent inside the
	// stream comes as {"error": {...}} instead
	var meta struct {
		openai.ChatCompletionStreamResponse
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(ev.Data, &meta); err != nil {
		return Event{}, s.c.malformed("stream chunk does not parse: %s", err.Error())
	}
	if meta.Error != nil {
		return Event{}, &provider.Error{Provider: s.c.name, Kind: provider.KindStatus, Status: http.StatusBadGateway, Message: s.c.cut(meta.Error.Message)}
	}
	out := Event{Data: ev.Data}
	if meta.Usage != nil {
		u := provider.Usage{PromptTokens: meta.Usage.PromptTokens, CompletionTokens: meta.Usage.CompletionTokens, TotalTokens: meta.Usage.TotalTokens}
		out.Usage = &u
		if len(meta.Choices) == 0 && !s.includeUsage {
			out.Data = nil // asked for by the caller's request, not by its client
		}
	}
	if len(meta.Choices) > 0 {
		out.Text = meta.Choices[0].Delta.Content
		out.Finish = string(meta.Choices[0].FinishReason) // "" while null
	}
	return out, nil
}

// event reads the next server-sent event; the end of the stream here is an
// answer cut short.
func (s *Stream) event() (openaicompat.Event, error) {
	ev, err := s.rd.Next()
	if errors.Is(err, io.EOF) {
		return ev, s.c.malformed("stream ended before the answer was complete")
	}
	if err != nil {
		return ev, s.c.fail(s.ctx, err)
	}
	return ev, nil
}

// nextAnthropic translates the next Anthropic event; one event may make
// several chunks (returned one per call) or none (an empty Event, so the
// caller sees the stream is alive: pings keep its idle timer from firing).
func (s *Stream) nextAnthropic() (Event, error) {
	if len(s.pending) == 0 {
		if s.stopped {
			return Event{Done: true}, nil
		}
		ev, err := s.event()
		if err != nil {
			return Event{}, err
		}
		out, err := s.tr.Event(ev.Data)
		if err != nil {
			var se *openaicompat.UpstreamStreamError
			if errors.As(err, &se) {
				status := http.StatusBadGateway
				if se.Type == "overloaded_error" {
					status = 529
				}
				return Event{}, &provider.Error{Provider: s.c.name, Kind: provider.KindStatus, Status: status, Message: s.c.cut(se.Message)}
			}
			return Event{}, s.c.malformed("%s", err.Error())
		}
		s.pending, s.stopped = out.Chunks, out.Done
		var usage *provider.Usage
		if out.Usage != nil {
			u := usageOf(out.Usage)
			usage = &u
		}
		if len(s.pending) == 0 {
			return Event{Usage: usage}, nil
		}
		s.usage = usage
	}
	ch := s.pending[0]
	s.pending = s.pending[1:]
	b, err := json.Marshal(ch)
	if err != nil {
		return Event{}, s.c.malformed("%s", err.Error())
	}
	out := Event{Data: b, Usage: s.usage}
	s.usage = nil
	if len(ch.Choices) > 0 {
		if t := ch.Choices[0].Delta.Content; t != nil {
			out.Text = *t
		}
		if fr := ch.Choices[0].FinishReason; fr != nil {
			out.Finish = *fr
		}
	}
	return out, nil
}
