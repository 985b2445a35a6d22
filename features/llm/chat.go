package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// Bounds of a chat request.
const (
	maxMessages     = 256
	maxModelName    = 200
	maxTemperature  = 2.0
	cacheKeyVersion = "v1"
)

type chatRequest struct {
	Provider    string             `json:"provider"`
	Model       string             `json:"model"`
	Messages    []provider.Message `json:"messages"`
	MaxTokens   *int               `json:"max_tokens"`
	Temperature *float64           `json:"temperature"`
	Stream      bool               `json:"stream"`
}

// chatResponse is the one answer shape of both providers.
type chatResponse struct {
	Provider string `json:"provider"`
	provider.Response
	Cached bool `json:"cached"`
}

// validate checks the request and fills defaults; it returns a message for
// a 400 or "".
func (f *feature) validate(r *chatRequest) string {
	if r.Provider != "" && r.Provider != "openai" && r.Provider != "anthropic" {
		return fmt.Sprintf("provider %q is unknown: want openai or anthropic", r.Provider)
	}
	if len(r.Messages) == 0 {
		return "messages: want at least one {role, content}"
	}
	if len(r.Messages) > maxMessages {
		return fmt.Sprintf("messages: at most %d, got %d", maxMessages, len(r.Messages))
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return fmt.Sprintf("messages[%d].role: want system, user or assistant, got %q", i, m.Role)
		}
		if m.Content == "" {
			return fmt.Sprintf("messages[%d].content: must not be empty", i)
		}
	}
	if len(r.Model) > maxModelName {
		return fmt.Sprintf("model: at most %d characters", maxModelName)
	}
	if r.MaxTokens != nil && (*r.MaxTokens < 1 || *r.MaxTokens > f.cfg.MaxTokens) {
		return fmt.Sprintf("max_tokens: want 1 to %d (LLM_MAX_TOKENS), got %d", f.cfg.MaxTokens, *r.MaxTokens)
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > maxTemperature) {
		return fmt.Sprintf("temperature: want 0 to %g, got %g", maxTemperature, *r.Temperature)
	}
	return ""
}

func (f *feature) chat(c *gin.Context) {
	var r chatRequest
	if !apierr.DecodeJSON(c, &r) {
		return
	}
	if msg := f.validate(&r); msg != "" {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", msg)
		return
	}
	name, p, why := f.lookup(r.Provider)
	if p == nil {
		apierr.Abort(c, http.StatusServiceUnavailable, "provider_not_ready", why)
		return
	}
	req := provider.Request{Model: r.Model, Messages: r.Messages, MaxTokens: f.cfg.MaxTokens, Temperature: r.Temperature}
	if req.Model == "" {
		req.Model = f.defaultModel(name)
	}
	if r.MaxTokens != nil {
		req.MaxTokens = *r.MaxTokens
	}
	if r.Stream {
		f.stream(c, name, p, req)
		return
	}
	ctx := c.Request.Context()
	deterministic := r.Temperature != nil && *r.Temperature == 0
	var key string
	if deterministic {
		key = chatCacheKey(name, req)
		var cached provider.Response
		if f.cacheGet(ctx, "chat", key, &cached) {
			apierr.JSON(c, http.StatusOK, chatResponse{Provider: name, Response: cached, Cached: true})
			return
		}
	}
	var resp provider.Response
	_, err := f.call(ctx, name, req.Model, func(ctx context.Context) error {
		var err error
		resp, err = p.Chat(ctx, req)
		return err
	})
	if err != nil {
		abortUpstream(c, err)
		return
	}
	if resp.Model == "" {
		resp.Model = req.Model
	}
	f.metrics.usage(name, req.Model, resp.Usage)
	if deterministic {
		f.cacheSet(ctx, "chat", key, resp)
	}
	apierr.JSON(c, http.StatusOK, chatResponse{Provider: name, Response: resp})
}

// call runs one upstream operation with retries, each attempt bounded by
// LLM_TIMEOUT and observed in the metrics.
func (f *feature) call(ctx context.Context, prov, model string, op func(ctx context.Context) error) (int, error) {
	n, err := f.retry.Do(ctx, func(ctx context.Context) error {
		actx, cancel := context.WithTimeoutCause(ctx, f.cfg.Timeout, provider.ErrTimeout)
		defer cancel()
		start := time.Now()
		err := provider.Classify(actx, prov, op(actx))
		f.metrics.observe(prov, model, err, time.Since(start))
		return err
	})
	if n > 1 {
		f.metrics.retries.WithLabelValues(prov).Add(float64(n - 1))
	}
	return n, err
}

// stream answers Server-Sent Events: one `data: {"delta":...}` per piece,
// a final chunk with finish_reason and usage, then `data: [DONE]`. The
// upstream call is bound to the client's request context, so a client that
// goes away cancels it. LLM_TIMEOUT bounds the wait for the first chunk and
// every gap between chunks; LLM_STREAM_MAX_DURATION the whole answer.
func (f *feature) stream(c *gin.Context, name string, p provider.Chat, req provider.Request) {
	ctx, cancelAll := context.WithTimeoutCause(c.Request.Context(), f.cfg.StreamMaxDuration, provider.ErrTimeout)
	defer cancelAll()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(f.cfg.Timeout, func() { cancel(provider.ErrTimeout) })
	defer idle.Stop()

	start := time.Now()
	var s provider.Stream
	n, err := f.retry.Do(ctx, func(actx context.Context) error {
		t0 := time.Now()
		var err error
		s, err = p.Stream(actx, req)
		err = provider.Classify(actx, name, err)
		if err != nil {
			f.metrics.observe(name, req.Model, err, time.Since(t0))
		}
		return err
	})
	if n > 1 {
		f.metrics.retries.WithLabelValues(name).Add(float64(n - 1))
	}
	if err != nil {
		abortUpstream(c, err)
		return
	}
	defer s.Close()
	finish := func(err error) {
		f.metrics.observe(name, req.Model, err, time.Since(start))
	}
	// Read the first chunk before answering, so that a failure up to here
	// is still a plain JSON error with its status.
	first, err := s.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		err = provider.Classify(ctx, name, err)
		finish(err)
		abortUpstream(c, err)
		return
	}
	idle.Reset(f.cfg.Timeout)
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-LLM-Provider", name)
	c.Status(http.StatusOK)
	chunk, done := first, errors.Is(err, io.EOF)
	for !done {
		if chunk.Usage != nil {
			f.metrics.usage(name, req.Model, *chunk.Usage)
		}
		if !writeEvent(c, "", chunk) {
			cancel(context.Canceled)
			finish(&provider.Error{Provider: name, Kind: provider.KindCanceled})
			return
		}
		chunk, err = s.Next()
		switch {
		case errors.Is(err, io.EOF):
			done = true
		case err != nil:
			err = provider.Classify(ctx, name, err)
			finish(err)
			var pe *provider.Error
			if errors.As(err, &pe) && pe.Kind == provider.KindCanceled {
				return // the client is gone; nobody to tell
			}
			code, _ := classify(err)
			writeEvent(c, "error", apierr.Body{Error: apierr.Detail{Code: code, Message: err.Error()}})
			return
		default:
			idle.Reset(f.cfg.Timeout)
		}
	}
	finish(nil)
	_, _ = io.WriteString(c.Writer, "data: [DONE]\n\n")
	c.Writer.Flush()
}

// writeEvent writes one SSE event and flushes; false when the client is gone.
func writeEvent(c *gin.Context, event string, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var buf []byte
	if event != "" {
		buf = append(buf, "event: "+event+"\n"...)
	}
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := c.Writer.Write(buf); err != nil {
		return false
	}
	c.Writer.Flush()
	return c.Request.Context().Err() == nil
}

// classify maps an upstream failure to the status and code the client
// gets: upstream 4xx/5xx and malformed answers 502, timeouts 504,
// unreachable 503.
func classify(err error) (string, int) {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return "upstream_error", http.StatusBadGateway
	}
	switch pe.Kind {
	case provider.KindStatus:
		return "upstream_error", http.StatusBadGateway
	case provider.KindTimeout:
		return "upstream_timeout", http.StatusGatewayTimeout
	case provider.KindUnreachable:
		return "upstream_unreachable", http.StatusServiceUnavailable
	case provider.KindMalformed:
		return "upstream_malformed", http.StatusBadGateway
	case provider.KindCanceled:
		return "canceled", 499 // client closed request; nobody reads it
	}
	return "upstream_error", http.StatusBadGateway
}

func abortUpstream(c *gin.Context, err error) {
	code, status := classify(err)
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Kind == provider.KindStatus {
		c.Header("X-Upstream-Status", strconv.Itoa(pe.Status))
	}
	apierr.Abort(c, status, code, err.Error())
}

// chatCacheKey hashes everything that decides a deterministic answer.
func chatCacheKey(prov string, req provider.Request) string {
	b, _ := json.Marshal(struct {
		P string             `json:"p"`
		M string             `json:"m"`
		X []provider.Message `json:"x"`
		T int                `json:"t"`
	}{prov, req.Model, req.Messages, req.MaxTokens})
	sum := sha256.Sum256(b)
	return "llm:" + cacheKeyVersion + ":chat:" + hex.EncodeToString(sum[:])
}

func embedCacheKey(model string, inputs []string) string {
	b, _ := json.Marshal(struct {
		M string   `json:"m"`
		I []string `json:"i"`
	}{model, inputs})
	sum := sha256.Sum256(b)
	return "llm:" + cacheKeyVersion + ":embed:" + hex.EncodeToString(sum[:])
}

// cacheGet looks key up in the shared cache, when there is one; any
// failure is a miss (the cache bounds its own calls).
func (f *feature) cacheGet(ctx context.Context, op, key string, v any) bool {
	rc, ok := f.cache()
	if !ok {
		return false
	}
	b, hit, err := rc.Get(ctx, key)
	switch {
	case err != nil:
		f.metrics.cache.WithLabelValues(op, "error").Inc()
		return false
	case !hit:
		f.metrics.cache.WithLabelValues(op, "miss").Inc()
		return false
	}
	if json.Unmarshal(b, v) != nil {
		f.metrics.cache.WithLabelValues(op, "error").Inc()
		return false
	}
	f.metrics.cache.WithLabelValues(op, "hit").Inc()
	return true
}

func (f *feature) cacheSet(ctx context.Context, op, key string, v any) {
	rc, ok := f.cache()
	if !ok {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = rc.Set(ctx, key, b, f.cfg.CacheTTL)
	}
	if err != nil {
		f.metrics.cache.WithLabelValues(op, "error").Inc()
	}
}
