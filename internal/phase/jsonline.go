package phase

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
)

// HeavyMarker starts the line that reports which heavy dependencies are
// linked; operators grep it and parse the JSON after it.
const HeavyMarker = "HEAVY_DEPENDENCIES_STATUS"

// JSONLine is a log attribute value carried as JSON: an object field in JSON
// logs (STRUCTURED_LOG=1), and, through NewTextHandler, the unescaped end of
// the text line, right after the message, so that
// `sed -n 's/.*MARKER //p'` yields JSON that parses as it is.
type JSONLine struct{ V any }

// MarshalJSON renders the value itself, so slog's JSON handler writes an
// object, not a string.
func (j JSONLine) MarshalJSON() ([]byte, error) { return json.Marshal(j.V) }

// LogHeavyDependencies writes the HEAVY_DEPENDENCIES_STATUS line.
func LogHeavyDependencies(logger *slog.Logger, heavy map[string]bool) {
	logger.LogAttrs(context.Background(), slog.LevelInfo, HeavyMarker, slog.Any("heavy_dependencies", JSONLine{heavy}))
}

// NewTextHandler is slog's text handler, except that a record carrying a
// JSONLine attribute is written as
//
//	time=... level=INFO <other attributes> msg=<message> <JSON>
//
// with the JSON last and unescaped (slog would quote it inside a string).
func NewTextHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	return &textHandler{Handler: slog.NewTextHandler(w, opts), w: w, opts: *opts, mu: &sync.Mutex{}}
}

type textHandler struct {
	slog.Handler
	w    io.Writer
	opts slog.HandlerOptions
	mu   *sync.Mutex
	// with replays WithAttrs/WithGroup on the formatter of JSONLine records.
	with []func(slog.Handler) slog.Handler
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithAttrs(as)
	c.with = append(append([]func(slog.Handler) slog.Handler{}, h.with...), func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
	return &c
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithGroup(name)
	c.with = append(append([]func(slog.Handler) slog.Handler{}, h.with...), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
	return &c
}

func (h *textHandler) Handle(ctx context.Context, r slog.Record) error {
	var line *JSONLine
	rest := slog.NewRecord(r.Time, r.Level, "", r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if v, ok := a.Value.Any().(JSONLine); ok && line == nil {
			line = &v
		} else {
			rest.AddAttrs(a)
		}
		return true
	})
	if line == nil {
		return h.Handler.Handle(ctx, r)
	}
	payload, err := json.Marshal(line.V)
	if err != nil {
		return err
	}
	// Format time, level and attributes as the text handler does, without
	// the message, then append the message and the JSON.
	var buf bytes.Buffer
	opts := h.opts
	user := opts.ReplaceAttr
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.MessageKey {
			return slog.Attr{}
		}
		if user != nil {
			return user(groups, a)
		}
		return a
	}
	var f slog.Handler = slog.NewTextHandler(&buf, &opts)
	for _, w := range h.with {
		f = w(f)
	}
	if err := f.Handle(ctx, rest); err != nil {
		return err
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	out = append(out, " msg="...)
	out = append(out, r.Message...)
	out = append(out, ' ')
	out = append(out, payload...)
	out = append(out, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err = h.w.Write(out)
	return err
}
