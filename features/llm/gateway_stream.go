package llm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/features/llm/anthropicapi"
	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// v1Stream answers a streamed chat completion as OpenAI does: one
// `data: {chat.completion.chunk}` event per upstream piece, written and
// flushed as it arrives, then `data: [DONE]`. The upstream call is bound to
// the client's request context, so a client that goes away cancels it.
// LLM_TIMEOUT bounds the wait for the first event and every gap between
// events; LLM_STREAM_MAX_DURATION the whole answer. A failure before the
// first event is a plain error with its status; after it, an error event
// (`data: {"error":{...}}`, which the OpenAI SDKs raise) and no [DONE].
func (f *feature) v1Stream(c *gin.Context, up upstreamRequest) {
	ctx, cancelAll := context.WithTimeoutCause(c.Request.Context(), f.cfg.StreamMaxDuration, provider.ErrTimeout)
	defer cancelAll()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(f.cfg.Timeout, func() { cancel(provider.ErrTimeout) })
	defer idle.Stop()

	start := time.Now()
	var resp *http.Response
	n, err := f.retry.Do(ctx, func(actx context.Context) error {
		t0 := time.Now()
		var err error
		resp, err = f.post(actx, up.prov, up.body)
		if err != nil {
			f.metrics.observe(up.prov, up.model, err, time.Since(t0))
		}
		return err
	})
	if n > 1 {
		f.metrics.retries.WithLabelValues(up.prov).Add(float64(n - 1))
	}
	if err != nil {
		f.abortV1(c, err)
		return
	}
	defer resp.Body.Close()
	finish := func(err error) { f.metrics.observe(up.prov, up.model, err, time.Since(start)) }

	rd := openaicompat.NewSSEReader(resp.Body)
	var tr *openaicompat.AnthropicStream
	if up.prov == anthropicapi.Name {
		tr = &openaicompat.AnthropicStream{IncludeUsage: up.includeUsage, Created: time.Now().Unix()}
	}
	w := sseWriter{c: c}
	for {
		ev, err := rd.Next()
		idle.Reset(f.cfg.Timeout)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: "stream ended before the answer was complete"}
			}
			err = provider.Classify(ctx, up.prov, err)
			f.streamFailed(c, &w, up, err, finish)
			return
		}
		var done bool
		if tr != nil {
			done, err = f.relayAnthropic(&w, tr, up, ev)
		} else {
			done, err = f.relayOpenAI(&w, up, ev)
		}
		if err != nil {
			f.streamFailed(c, &w, up, err, finish)
			return
		}
		if w.gone {
			cancel(context.Canceled)
			finish(&provider.Error{Provider: up.prov, Kind: provider.KindCanceled})
			return
		}
		if done {
			w.raw([]byte("data: [DONE]\n\n"))
			finish(nil)
			return
		}
	}
}

// streamFailed ends a stream with an error: a JSON error while nothing was
// written, an error event after.
func (f *feature) streamFailed(c *gin.Context, w *sseWriter, up upstreamRequest, err error, finish func(error)) {
	finish(err)
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Kind == provider.KindCanceled {
		return // the client is gone; nobody to tell
	}
	if !w.started {
		f.abortV1(c, err)
		return
	}
	status, code, _ := v1Status(err)
	b, _ := json.Marshal(apierr.OpenAIBody{Error: apierr.OpenAIDetail{
		Message: f.redact(err.Error()), Type: apierr.OpenAIType(status), Code: code}})
	w.data(b)
}

// relayOpenAI forwards one event of an OpenAI-compatible stream as it
// came, except the usage chunk the gateway asked for on its own.
func (f *feature) relayOpenAI(w *sseWriter, up upstreamRequest, ev openaicompat.Event) (bool, error) {
	if string(ev.Data) == "[DONE]" {
		return true, nil
	}
	var meta struct {
		Choices []json.RawMessage    `json:"choices"`
		Usage   *openaicompat.Usage  `json:"usage"`
		Error   *apierr.OpenAIDetail `json:"error"`
	}
	if err := json.Unmarshal(ev.Data, &meta); err != nil {
		return false, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: "stream chunk does not parse: " + err.Error(), Err: err}
	}
	if meta.Error != nil {
		return false, &provider.Error{Provider: up.prov, Kind: provider.KindStatus, Status: http.StatusBadGateway, Message: f.red.Cut(meta.Error.Message, maxErrorMessage)}
	}
	if meta.Usage != nil {
		f.metrics.usage(up.prov, up.model, toUsage(meta.Usage))
		if len(meta.Choices) == 0 && !up.includeUsage {
			return false, nil
		}
	}
	w.data(ev.Data)
	return false, nil
}

// relayAnthropic translates one Anthropic event into chunks.
func (f *feature) relayAnthropic(w *sseWriter, tr *openaicompat.AnthropicStream, up upstreamRequest, ev openaicompat.Event) (bool, error) {
	out, err := tr.Event(ev.Data)
	if err != nil {
		var se *openaicompat.UpstreamStreamError
		if errors.As(err, &se) {
			status := http.StatusBadGateway
			if se.Type == "overloaded_error" {
				status = 529
			}
			return false, &provider.Error{Provider: up.prov, Kind: provider.KindStatus, Status: status, Message: f.red.Cut(se.Message, maxErrorMessage)}
		}
		return false, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: err.Error(), Err: err}
	}
	for _, ch := range out.Chunks {
		b, err := json.Marshal(ch)
		if err != nil {
			return false, err
		}
		w.data(b)
	}
	if out.Usage != nil {
		f.metrics.usage(up.prov, up.model, toUsage(out.Usage))
	}
	return out.Done, nil
}

// sseWriter writes events to the client, each flushed at once. The
// headers go out with the first event.
type sseWriter struct {
	c       *gin.Context
	started bool
	gone    bool
	buf     []byte
}

func (w *sseWriter) data(b []byte) {
	w.buf = append(append(append(w.buf[:0], "data: "...), b...), "\n\n"...)
	w.raw(w.buf)
}

func (w *sseWriter) raw(b []byte) {
	if w.gone {
		return
	}
	if !w.started {
		w.started = true
		h := w.c.Writer.Header()
		h["Content-Type"] = []string{"text/event-stream; charset=utf-8"}
		h["Cache-Control"] = []string{"no-cache"}
		h["X-Accel-Buffering"] = []string{"no"}
		w.c.Status(http.StatusOK)
	}
	if _, err := w.c.Writer.Write(b); err != nil {
		w.gone = true
		return
	}
	w.c.Writer.Flush()
	if w.c.Request.Context().Err() != nil {
		w.gone = true
	}
}
