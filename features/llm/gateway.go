package llm

// The /v1 gateway: OpenAI's wire format in front of the same provider
// clients, retries, metrics and cache as /api/v2/llm (exchange.go). Requests for an
// OpenAI-compatible upstream are forwarded as the client sent them (only the
// model is rewritten), so tools, response_format and fields this code does
// not know pass through; requests for Anthropic are translated by
// openaicompat, and what cannot be translated is a 400 naming the field.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// mountV1 mounts the OpenAI-compatible routes on the group's router (so
// they pass the group gate and, with auth on, need a token: the API key).
func (f *feature) mountV1(r groupapi.Router) {
	r.Handle(http.MethodPost, "/v1/chat/completions", http.HandlerFunc(f.v1Chat))
	r.Handle(http.MethodPost, "/v1/embeddings", http.HandlerFunc(f.v1Embeddings))
	r.Handle(http.MethodGet, "/v1/models", http.HandlerFunc(f.v1Models))
	r.Handle(http.MethodGet, "/v1/models/{id...}", http.HandlerFunc(f.v1Model))
}

// v1Error is a refusal in OpenAI's shape.
type v1Error struct {
	status              int
	code, param, detail string
}

func (e *v1Error) abort(w http.ResponseWriter) {
	apierr.OpenAIError(w, e.status, e.code, e.param, e.detail)
}

func badRequest(param, format string, args ...any) *v1Error {
	return &v1Error{status: http.StatusBadRequest, code: "invalid_request", param: param, detail: fmt.Sprintf(format, args...)}
}

// route is where a model name goes.
type route struct {
	prov   string // openai or anthropic
	model  string // the upstream's model name (prefix removed)
	client *upstream.Client
}

// defaultProvider answers model names without a prefix.
func (f *feature) defaultProvider() string {
	if f.cfg.DefaultProvider != "" {
		return f.cfg.DefaultProvider
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, n := range providerNames {
		if _, ok := f.clients[n]; ok {
			return n
		}
	}
	return upstream.OpenAI
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
	if p, m, ok := strings.Cut(name, "/"); ok && (p == upstream.OpenAI || p == upstream.Anthropic) && m != "" {
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
	rt.client = f.clients[rt.prov]
	missing := f.missing[rt.prov]
	f.mu.RUnlock()
	switch {
	case !started:
		return route{}, &v1Error{status: http.StatusServiceUnavailable, code: "provider_not_ready", detail: "the llm group is still starting"}
	case rt.client == nil:
		return route{}, notFound("provider " + rt.prov + " is not configured (" + missing + ")")
	case embeddings && rt.prov != upstream.OpenAI:
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
		return rt.model == f.defaultModel(rt.prov) || (rt.prov == upstream.OpenAI && rt.model == f.cfg.EmbeddingModel)
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
func readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) { return apierr.ReadAll(w, req) }

// decodeV1 decodes body into v; a failure is a 400 naming the field.
func decodeV1(w http.ResponseWriter, body []byte, v any) bool {
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
		apierr.OpenAIError(w, http.StatusBadRequest, "invalid_json", param, msg)
		return false
	}
	return true
}

// checkKeys refuses a body whose keys could mean two things (duplicates,
// case variants of a known field): the gateway forwards the bytes it
// checked, so they must mean to the upstream what they meant to the check.
func checkKeys(w http.ResponseWriter, body []byte, known []string) bool {
	if fe := openaicompat.CheckKeys(body, known); fe != nil {
		badRequest(fe.Param, "%s", fe.Message).abort(w)
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

func (f *feature) v1Chat(w http.ResponseWriter, req *http.Request) {
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	var r openaicompat.ChatProbe
	if !decodeV1(w, body, &r) || !checkKeys(w, body, openaicompat.ChatFields) {
		return
	}
	if e := f.checkChat(&r); e != nil {
		e.abort(w)
		return
	}
	rt, e := f.routeModel(r.Model, false)
	if e != nil {
		e.abort(w)
		return
	}
	call := chatCall{client: rt.client, model: rt.model, includeUsage: r.StreamOptions != nil && r.StreamOptions.IncludeUsage}
	switch rt.prov {
	case upstream.Anthropic:
		maxTokens := f.cfg.MaxTokens
		if r.MaxCompletionTokens != nil {
			maxTokens = *r.MaxCompletionTokens
		} else if r.MaxTokens != nil {
			maxTokens = *r.MaxTokens
		}
		var full openaicompat.ChatRequest
		if !decodeV1(w, body, &full) {
			return
		}
		b, ferr := openaicompat.ToAnthropic(body, &full, rt.model, maxTokens)
		if ferr != nil {
			apierr.OpenAIError(w, http.StatusBadRequest, "unsupported_parameter", ferr.Param, ferr.Message)
			return
		}
		call.body = b
	default:
		call.body = body
		if rt.model != r.Model {
			call.body = openaicompat.SetTopLevel(call.body, "model", strconv.AppendQuote(nil, rt.model))
		}
		if r.Stream && !call.includeUsage {
			// ask for the usage chunk for the token metrics; it is not
			// relayed to a client that did not ask for it
			call.body = openaicompat.SetTopLevel(call.body, "stream_options", []byte(`{"include_usage":true}`))
		}
	}
	if r.Stream {
		f.relay(req.Context(), call, &v1Sink{f: f, w: sseWriter{w: w, req: req}})
		return
	}
	var cacheOp string
	if r.Temperature != nil && *r.Temperature == 0 {
		cacheOp = "v1chat" // deterministic
	}
	answer, cached, err := f.complete(req.Context(), call, cacheOp, isCompletion)
	if err != nil {
		f.abortV1(w, err)
		return
	}
	if cached {
		w.Header().Set("X-Gateway-Cache", "hit")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(answer)
}

// isCompletion refuses an answer the gateway cannot relay as it came: one
// that is not a chat.completion object (the rest of it is the upstream's).
func isCompletion(b []byte) error {
	if obj, _ := openaicompat.TopLevel(b, "object"); string(obj) != `"chat.completion"` {
		return &provider.Error{Kind: provider.KindMalformed, Message: "answer is not a chat.completion object"}
	}
	return nil
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

func (f *feature) abortV1(w http.ResponseWriter, err error) {
	status, code, ra := v1Status(err)
	if ra > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Kind == provider.KindStatus {
		w.Header().Set("X-Upstream-Status", strconv.Itoa(pe.Status))
	}
	apierr.OpenAIError(w, status, code, "", f.redact(err.Error()))
}
