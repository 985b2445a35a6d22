package llm

// The /v1 gateway: OpenAI's wire format in front of the same providers,
// retries, metrics and cache as /api/v2/llm. Requests for an
// OpenAI-compatible upstream are forwarded as the client sent them (only the
// model is rewritten), so tools, response_format and fields this code does
// not know pass through; requests for Anthropic are translated by
// openaicompat, and what cannot be translated is a 400 naming the field.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/features/llm/anthropicapi"
	"github.com/advanced-backend/advanced-backend/features/llm/openaiapi"
	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// Bounds of the gateway.
const (
	// maxUpstreamBody bounds a non-streamed upstream answer held in memory.
	maxUpstreamBody = 16 << 20
	// maxErrorBody bounds an upstream error body read for its message.
	maxUpstreamErrorBody = 64 << 10
	// maxErrorMessage bounds the upstream message relayed to the client
	// (after its credentials are taken out).
	maxErrorMessage = provider.MaxMessage
)

// mountV1 mounts the OpenAI-compatible routes on the group's router (so
// they pass the group gate and, with auth on, need a token: the API key).
func (f *feature) mountV1(r gin.IRoutes) {
	r.POST("/v1/chat/completions", f.v1Chat)
	r.POST("/v1/embeddings", f.v1Embeddings)
	r.GET("/v1/models", f.v1Models)
	r.GET("/v1/models/*id", f.v1Model)
}

// v1Error is a refusal in OpenAI's shape.
type v1Error struct {
	status              int
	code, param, detail string
}

func (e *v1Error) abort(c *gin.Context) { apierr.AbortOpenAI(c, e.status, e.code, e.param, e.detail) }

func badRequest(param, format string, args ...any) *v1Error {
	return &v1Error{status: http.StatusBadRequest, code: "invalid_request", param: param, detail: fmt.Sprintf(format, args...)}
}

// route is where a model name goes.
type route struct {
	prov  string // openai or anthropic
	model string // the upstream's model name (prefix removed)
}

// defaultProvider answers model names without a prefix.
func (f *feature) defaultProvider() string {
	if f.cfg.DefaultProvider != "" {
		return f.cfg.DefaultProvider
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, n := range providerNames {
		if _, ok := f.chats[n]; ok {
			return n
		}
	}
	return openaiapi.Name
}

// routeModel resolves a client's model name: openai/x and anthropic/x name
// the provider, anything else (including names with other slashes, as
// OpenAI-compatible servers use) goes to the default provider. A model the
// gateway does not route, or whose provider is not configured, is a 404.
func (f *feature) routeModel(name string, embeddings bool) (route, *v1Error) {
	if name == "" {
		return route{}, badRequest("model", "model: required")
	}
	if len(name) > maxModelName {
		return route{}, badRequest("model", "model: at most %d characters", maxModelName)
	}
	rt := route{model: name}
	if p, m, ok := strings.Cut(name, "/"); ok && (p == openaiapi.Name || p == anthropicapi.Name) && m != "" {
		rt.prov, rt.model = p, m
	} else {
		rt.prov = f.defaultProvider()
	}
	notFound := func(why string) *v1Error {
		return &v1Error{status: http.StatusNotFound, code: "model_not_found", param: "model",
			detail: fmt.Sprintf("The model `%s` does not exist or is not routed by this gateway: %s", name, why)}
	}
	f.mu.RLock()
	started := f.started
	_, configured := f.chats[rt.prov]
	missing := f.missing[rt.prov]
	f.mu.RUnlock()
	switch {
	case !started:
		return route{}, &v1Error{status: http.StatusServiceUnavailable, code: "provider_not_ready", detail: "the llm group is still starting"}
	case !configured:
		return route{}, notFound("provider " + rt.prov + " is not configured (" + missing + ")")
	case embeddings && rt.prov != openaiapi.Name:
		return route{}, notFound(rt.prov + " has no embeddings API")
	case !f.routes(rt):
		return route{}, notFound("not in LLM_MODELS (see GET /v1/models)")
	}
	return rt, nil
}

// routes reports whether LLM_MODELS (or, when empty, the default models)
// lets rt through.
func (f *feature) routes(rt route) bool {
	if len(f.cfg.Models) == 0 {
		return rt.model == f.defaultModel(rt.prov) || (rt.prov == openaiapi.Name && rt.model == f.cfg.EmbeddingModel)
	}
	for _, m := range f.cfg.Models {
		p, name, _ := strings.Cut(m, "/")
		if p == rt.prov && (name == "*" || name == rt.model) {
			return true
		}
	}
	return false
}

// readBody reads the request body (bounded by the body-limit middleware)
// through core's one body reader: its buffer grows with the bytes that
// arrived, never with the declared Content-Length, and a body that is too
// large, too slow or over the memory of all bodies in flight gets the same
// 413/408/503 as on every route.
func readBody(c *gin.Context) ([]byte, bool) { return apierr.ReadBody(c) }

// decodeV1 decodes body into v; a failure is a 400 naming the field.
func decodeV1(c *gin.Context, body []byte, v any) bool {
	if err := json.Unmarshal(body, v); err != nil {
		param := ""
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			param = typ.Field
		}
		msg := "We could not parse the JSON body of your request: " + err.Error()
		if param != "" {
			msg = fmt.Sprintf("%s: want %s, got JSON %s", param, typ.Type, typ.Value)
		}
		apierr.AbortOpenAI(c, http.StatusBadRequest, "invalid_json", param, msg)
		return false
	}
	return true
}

// checkKeys refuses a body whose keys could mean two things (duplicates,
// case variants of a known field): the gateway forwards the bytes it
// checked, so they must mean to the upstream what they meant to the check.
func checkKeys(c *gin.Context, body []byte, known []string) bool {
	if fe := openaicompat.CheckKeys(body, known); fe != nil {
		badRequest(fe.Param, "%s", fe.Message).abort(c)
		return false
	}
	return true
}

// checkChat validates what the gateway itself bounds.
func (f *feature) checkChat(r *openaicompat.ChatProbe) *v1Error {
	if len(r.Messages) == 0 {
		return badRequest("messages", "messages: want at least one message")
	}
	if len(r.Messages) > maxMessages {
		return badRequest("messages", "messages: at most %d, got %d", maxMessages, len(r.Messages))
	}
	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", r.MaxTokens}, {"max_completion_tokens", r.MaxCompletionTokens}} {
		if mt.v != nil && (*mt.v < 1 || *mt.v > f.cfg.MaxTokens) {
			return badRequest(mt.name, "%s: want 1 to %d (LLM_MAX_TOKENS), got %d", mt.name, f.cfg.MaxTokens, *mt.v)
		}
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > maxTemperature) {
		return badRequest("temperature", "temperature: want 0 to %g, got %g", maxTemperature, *r.Temperature)
	}
	if r.N != nil && *r.N != 1 {
		return badRequest("n", "n: this gateway answers one choice; want 1, got %d", *r.N)
	}
	return nil
}

// upstreamRequest is one prepared upstream call.
type upstreamRequest struct {
	route
	body         []byte
	stream       bool
	includeUsage bool // the client asked for the usage chunk
}

func (f *feature) v1Chat(c *gin.Context) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	var r openaicompat.ChatProbe
	if !decodeV1(c, body, &r) || !checkKeys(c, body, openaicompat.ChatFields) {
		return
	}
	if e := f.checkChat(&r); e != nil {
		e.abort(c)
		return
	}
	rt, e := f.routeModel(r.Model, false)
	if e != nil {
		e.abort(c)
		return
	}
	up := upstreamRequest{route: rt, stream: r.Stream, includeUsage: r.StreamOptions != nil && r.StreamOptions.IncludeUsage}
	switch rt.prov {
	case anthropicapi.Name:
		maxTokens := f.cfg.MaxTokens
		if r.MaxCompletionTokens != nil {
			maxTokens = *r.MaxCompletionTokens
		} else if r.MaxTokens != nil {
			maxTokens = *r.MaxTokens
		}
		var full openaicompat.ChatRequest
		if !decodeV1(c, body, &full) {
			return
		}
		b, ferr := openaicompat.ToAnthropic(body, &full, rt.model, maxTokens)
		if ferr != nil {
			apierr.AbortOpenAI(c, http.StatusBadRequest, "unsupported_parameter", ferr.Param, ferr.Message)
			return
		}
		up.body = b
	default:
		up.body = body
		if rt.model != r.Model {
			up.body = openaicompat.SetTopLevel(up.body, "model", strconv.AppendQuote(nil, rt.model))
		}
		if r.Stream && !up.includeUsage {
			// ask for the usage chunk for the token metrics; it is not
			// relayed to a client that did not ask for it
			up.body = openaicompat.SetTopLevel(up.body, "stream_options", []byte(`{"include_usage":true}`))
		}
	}
	if r.Stream {
		f.v1Stream(c, up)
		return
	}
	ctx := c.Request.Context()
	var key string
	deterministic := r.Temperature != nil && *r.Temperature == 0
	if deterministic {
		key = v1CacheKey(up.prov, up.model, up.body)
		var cached json.RawMessage
		if f.cacheGet(ctx, "v1chat", key, &cached) {
			c.Header("X-Gateway-Cache", "hit")
			c.Data(http.StatusOK, "application/json", cached)
			return
		}
	}
	var answer []byte
	_, err := f.call(ctx, up.prov, up.model, func(ctx context.Context) error {
		var err error
		answer, err = f.complete(ctx, up)
		return err
	})
	if err != nil {
		f.abortV1(c, err)
		return
	}
	if deterministic {
		f.cacheSet(ctx, "v1chat", key, json.RawMessage(answer))
	}
	c.Data(http.StatusOK, "application/json", answer)
}

// complete makes one non-streamed upstream call and returns the answer in
// OpenAI's format, recording the token usage.
func (f *feature) complete(ctx context.Context, up upstreamRequest) ([]byte, error) {
	resp, err := f.post(ctx, up.prov, up.body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil {
		return nil, provider.Classify(ctx, up.prov, err)
	}
	if len(b) > maxUpstreamBody {
		return nil, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: fmt.Sprintf("answer over %d bytes", maxUpstreamBody)}
	}
	if up.prov == anthropicapi.Name {
		cc, err := openaicompat.FromAnthropic(b, time.Now().Unix())
		if err != nil {
			return nil, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: err.Error(), Err: err}
		}
		f.metrics.usage(up.prov, up.model, toUsage(cc.Usage))
		return json.Marshal(cc)
	}
	// relayed as it came: only the object type and the usage are read
	// (spans found without decoding the whole answer)
	obj, rawUsage := openaicompat.TopLevel2(b, "object", "usage")
	if string(obj) != `"chat.completion"` {
		if !json.Valid(b) {
			return nil, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: "answer does not parse as JSON"}
		}
		return nil, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: "answer is not a chat.completion object"}
	}
	var usage openaicompat.Usage
	if raw := rawUsage; raw != nil && string(raw) != "null" {
		if err := json.Unmarshal(raw, &usage); err != nil {
			return nil, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: "usage does not parse: " + err.Error(), Err: err}
		}
	}
	if !json.Valid(b) {
		return nil, &provider.Error{Provider: up.prov, Kind: provider.KindMalformed, Message: "answer does not parse as JSON"}
	}
	f.metrics.usage(up.prov, up.model, toUsage(&usage))
	return b, nil
}

func toUsage(u *openaicompat.Usage) provider.Usage {
	if u == nil {
		return provider.Usage{}
	}
	return provider.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

// upstreamTarget is one provider's chat endpoint with the headers every
// call sends, built once in Start. The transport only reads a request, so
// calls share the URL and the header map.
type upstreamTarget struct {
	url    *url.URL
	header http.Header
}

func newTarget(prov, base, key string) (upstreamTarget, error) {
	var raw string
	h := http.Header{"Content-Type": {"application/json"}}
	if prov == anthropicapi.Name {
		raw = strings.TrimRight(base, "/") + "/v1/messages"
		h["X-Api-Key"] = []string{key}
		h["Anthropic-Version"] = []string{openaicompat.AnthropicVersion}
	} else {
		raw = strings.TrimRight(base, "/") + "/chat/completions"
		h["Authorization"] = []string{"Bearer " + key}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return upstreamTarget{}, fmt.Errorf("%s chat URL: %w", prov, err)
	}
	return upstreamTarget{url: u, header: h}, nil
}

// post sends body to the provider's chat endpoint. A non-2xx answer is a
// *provider.Error with the upstream's message (credentials removed) and
// Retry-After. It calls the transport directly: the gateway follows no
// redirects and keeps no cookies, and http.Client's bookkeeping for them
// costs allocations on every call.
func (f *feature) post(ctx context.Context, prov string, body []byte) (*http.Response, error) {
	f.mu.RLock()
	tr, target := f.transport, f.targets[prov]
	f.mu.RUnlock()
	if tr == nil || target.url == nil {
		return nil, &provider.Error{Provider: prov, Kind: provider.KindUnreachable, Message: "the llm group is stopped"}
	}
	req := (&http.Request{
		Method: http.MethodPost, URL: target.url, Host: target.url.Host, Header: target.header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}).WithContext(ctx)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		err = provider.Classify(ctx, prov, err)
		var pe *provider.Error
		if errors.As(err, &pe) {
			pe.Message = f.redact(pe.Message)
		}
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamErrorBody))
	e := &provider.Error{Provider: prov, Kind: provider.KindStatus, Status: resp.StatusCode,
		RetryAfter: provider.ParseRetryAfter(resp.Header.Get("Retry-After"))}
	var msg string
	if prov == anthropicapi.Name {
		_, msg = openaicompat.AnthropicError(b)
	} else {
		msg, _, _, _ = openaicompat.OpenAIErrorDetail(b)
	}
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	// credentials out first, then the cut: a cut made first could split
	// an echoed key and relay its prefix
	e.Message = f.red.Cut(msg, maxErrorMessage)
	return nil, e
}

// redact removes the gateway's own credentials (both providers' keys, user
// information and query credentials of their base URLs) from text an
// upstream or the transport wrote, before a client sees it.
func (f *feature) redact(s string) string { return f.red.String(s) }

// v1Status maps an upstream failure to the status, code and Retry-After the
// client gets. A request the upstream refused as invalid keeps its 4xx (the
// client can fix it); the upstream refusing the gateway's own key is the
// gateway's fault (502); 429 stays 429 with the upstream's wait.
func v1Status(err error) (status int, code string, retryAfter time.Duration) {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return http.StatusBadGateway, "upstream_error", 0
	}
	switch pe.Kind {
	case provider.KindStatus:
		switch {
		case pe.Status == http.StatusTooManyRequests:
			ra := pe.RetryAfter
			if ra <= 0 {
				ra = time.Second
			}
			return http.StatusTooManyRequests, "upstream_rate_limited", ra
		case pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden:
			return http.StatusBadGateway, "upstream_auth", 0
		case pe.Status == 529: // Anthropic: overloaded
			return http.StatusServiceUnavailable, "upstream_overloaded", pe.RetryAfter
		case pe.Status >= 400 && pe.Status < 500:
			return pe.Status, "upstream_invalid_request", 0
		}
		return http.StatusBadGateway, "upstream_error", 0
	case provider.KindTimeout:
		return http.StatusGatewayTimeout, "upstream_timeout", 0
	case provider.KindUnreachable:
		return http.StatusServiceUnavailable, "upstream_unreachable", 0
	case provider.KindMalformed:
		return http.StatusBadGateway, "upstream_malformed", 0
	case provider.KindCanceled:
		return 499, "canceled", 0
	}
	return http.StatusBadGateway, "upstream_error", 0
}

func (f *feature) abortV1(c *gin.Context, err error) {
	status, code, ra := v1Status(err)
	if ra > 0 {
		c.Header("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Kind == provider.KindStatus {
		c.Header("X-Upstream-Status", strconv.Itoa(pe.Status))
	}
	apierr.AbortOpenAI(c, status, code, "", f.redact(err.Error()))
}

// v1CacheKey hashes what decides a deterministic answer: the provider, the
// upstream model and the request as sent upstream.
func v1CacheKey(prov, model string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prov))
	h.Write([]byte{0})
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write(body)
	return "llm:" + cacheKeyVersion + ":v1chat:" + hex.EncodeToString(h.Sum(nil))
}
