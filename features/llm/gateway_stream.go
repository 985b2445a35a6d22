package llm

import (
	"encoding/json"
	"net/http"

	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// v1Sink writes a streamed chat completion as OpenAI does: one
// `data: {chat.completion.chunk}` event per upstream piece, written and
// flushed as it arrives (an OpenAI-compatible upstream's chunks as they
// came, Anthropic's translated), then `data: [DONE]`. A failure before the
// first event is a plain error with its status; after it, an error event
// (`data: {"error":{...}}`, which the OpenAI SDKs raise) and no [DONE].
// The stream itself (retries, deadlines, metrics) is relay's, in exchange.go.
type v1Sink struct {
	f *feature
	w sseWriter
}

func (s *v1Sink) event(ev upstream.Event) (bool, error) {
	switch {
	case ev.Done:
		s.w.raw([]byte("data: [DONE]\n\n"))
		return true, nil
	case ev.Data != nil:
		s.w.data(ev.Data)
	}
	return !s.w.gone, nil
}

func (s *v1Sink) fail(err error) {
	if !s.w.started {
		s.f.abortV1(s.w.w, err)
		return
	}
	status, code, _ := v1Status(err)
	b, _ := json.Marshal(apierr.OpenAIBody{Error: apierr.OpenAIDetail{
		Message: s.f.redact(err.Error()), Type: apierr.OpenAIType(status), Code: code}})
	s.w.data(b)
}

// sseWriter writes events to the client, each flushed at once. The
// headers go out with the first event.
type sseWriter struct {
	w       http.ResponseWriter
	req     *http.Request
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
		h := w.w.Header()
		h["Content-Type"] = []string{"text/event-stream; charset=utf-8"}
		h["Cache-Control"] = []string{"no-cache"}
		h["X-Accel-Buffering"] = []string{"no"}
		w.w.WriteHeader(http.StatusOK)
	}
	if _, err := w.w.Write(b); err != nil {
		w.gone = true
		return
	}
	flush(w.w)
	if w.req.Context().Err() != nil {
		w.gone = true
	}
}
