// Package llm is the LLM group (build tag llm): chat, streamed chat and
// embeddings against OpenAI-compatible and Anthropic APIs, under
// /api/v2/llm, and an OpenAI-compatible gateway under /v1 (gateway*.go,
// with the wire format and the Anthropic translation in openaicompat). Both
// surfaces reach a provider through one path: its upstream.Client, with the
// retries, metrics, cache and stream set-up of exchange.go. It provides the
// groupapi.Embedder the vector group uses for text inputs, and uses the
// shared response cache (groupapi.ResponseCache) for deterministic calls
// when another group provides one.
package llm

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/features/groupdesc"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// maxRetryWait caps a single wait between retries, whatever the upstream's
// Retry-After says.
const maxRetryWait = 10 * time.Second

func init() {
	capability.Register(capability.GroupInfo{Name: groupdesc.LLM.Name, New: func(v config.Values) groupapi.Feature { return newFeature(v) }, Settings: Settings(),
		Uses: capability.Uses{Reads: []groupapi.AnyKey{capability.CacheKey}, Provides: []groupapi.AnyKey{capability.EmbedderKey}}})
}

// newFeature builds an instance with its settings bound.
func newFeature(v config.Values) *feature { return &feature{cfg: configFrom(v)} }

type feature struct {
	cfg      Config
	cacheSrc groupapi.Source[groupapi.ResponseCache] // nil before Setup
	enabled  func() bool                             // whether the group is switched on (nil: always)
	metrics  *metrics
	retry    provider.Retry
	red      *provider.Redactor // both providers' credentials, out of every relayed error

	mu        sync.RWMutex
	started   bool
	clients   map[string]*upstream.Client // configured providers
	missing   map[string]string           // provider -> why it is not configured
	transport http.RoundTripper
}

// Setup mounts the routes and offers the embedder; clients come in Start.
func (f *feature) Setup(h *groupapi.Host) error {
	f.red = provider.NewRedactor(f.cfg.OpenAIBaseURL, f.cfg.OpenAIAPIKey).With(f.cfg.AnthropicBaseURL, f.cfg.AnthropicAPIKey)
	cache, err := groupapi.SourceOf(h.Services, capability.CacheKey)
	if err != nil {
		return err
	}
	emb, err := groupapi.ProviderOf(h.Services, capability.EmbedderKey)
	if err != nil {
		return err
	}
	f.cacheSrc = cache
	f.enabled = h.Enabled
	f.retry = provider.Retry{MaxRetries: f.cfg.MaxRetries, Backoff: f.cfg.RetryBackoff, MaxWait: maxRetryWait}
	m, err := newMetrics(h.Metrics)
	if err != nil {
		return err
	}
	f.metrics = m
	h.Routes.Handle(http.MethodPost, "/api/v2/llm/chat", http.HandlerFunc(f.chat))
	h.Routes.Handle(http.MethodPost, "/api/v2/llm/embeddings", http.HandlerFunc(f.embeddings))
	h.Routes.Handle(http.MethodGet, "/api/v2/llm/providers", http.HandlerFunc(f.providers))
	f.mountV1(h.Routes)
	emb.Provide(embedder{f})
	return nil
}

// Start builds a client for every provider that has credentials. Building a
// client does no I/O.
func (f *feature) Start(ctx context.Context) error {
	dial := min(f.cfg.Timeout, 10*time.Second)
	tr := &http.Transport{
		// No Proxy: the process reads its environment only through
		// internal/config.
		DialContext:           (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   dial,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		// Requests are small JSON bodies; every open stream holds one
		// connection with its buffers, so a smaller write buffer keeps
		// 1,000 streams in bounded memory (the read side keeps 4 KiB).
		WriteBufferSize: 1 << 10,
	}
	// Deadlines are per call (context), not per client: a streamed answer
	// may outlast LLM_TIMEOUT as long as chunks keep coming.
	if err := f.connect(tr); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = true
	return nil
}

// connect builds a client, over tr, for every provider that has
// credentials.
func (f *feature) connect(tr http.RoundTripper) error {
	clients, missing := map[string]*upstream.Client{}, map[string]string{}
	for _, p := range []struct{ name, base, key, setting string }{
		{upstream.OpenAI, f.cfg.OpenAIBaseURL, f.cfg.OpenAIAPIKey, "OPENAI_API_KEY"},
		{upstream.Anthropic, f.cfg.AnthropicBaseURL, f.cfg.AnthropicAPIKey, "ANTHROPIC_API_KEY"},
	} {
		if p.key == "" {
			missing[p.name] = p.setting + " not set"
			continue
		}
		c, err := upstream.New(p.name, p.base, p.key, tr, f.red)
		if err != nil {
			return err
		}
		clients[p.name] = c
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transport, f.clients, f.missing = tr, clients, missing
	return nil
}

func (f *feature) Stop(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	f.transport = nil
	f.started = false
	return nil
}

// providerNames lists the providers in the order of preference for
// requests that name none.
var providerNames = []string{upstream.OpenAI, upstream.Anthropic}

func (f *feature) defaultModel(name string) string {
	if name == upstream.Anthropic {
		return f.cfg.AnthropicModel
	}
	return f.cfg.OpenAIModel
}

// baseURL is a provider's base URL as it may be shown (no credentials).
func (f *feature) baseURL(name string) string {
	if name == upstream.Anthropic {
		return config.RedactURL(f.cfg.AnthropicBaseURL)
	}
	return config.RedactURL(f.cfg.OpenAIBaseURL)
}

// Status is ready when at least one provider is configured; the detail
// names each provider's state.
func (f *feature) Status() groupapi.Status {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.started {
		return groupapi.Status{Detail: "not started"}
	}
	var notes []string
	for _, n := range providerNames {
		if _, ok := f.clients[n]; ok {
			notes = append(notes, n+": ready ("+f.baseURL(n)+", model "+f.defaultModel(n)+")")
		} else {
			notes = append(notes, n+": not ready: "+f.missing[n])
		}
	}
	if f.clients[upstream.OpenAI] != nil {
		notes = append(notes, "embeddings: openai model "+f.cfg.EmbeddingModel)
	} else {
		notes = append(notes, "embeddings: not ready (needs the openai provider)")
	}
	// Without a provider the group still serves (its routes answer 503
	// naming the missing key): degraded, not a reason to leave service.
	return groupapi.Status{Ready: len(f.clients) > 0, Degraded: len(f.clients) == 0, Detail: strings.Join(notes, "; ")}
}

// lookup returns the provider to use for name ("" picks the first
// configured one). ok is false with a reason when it cannot serve.
func (f *feature) lookup(name string) (string, *upstream.Client, string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.started {
		return name, nil, "the llm group is still starting"
	}
	if name == "" {
		for _, n := range providerNames {
			if c, ok := f.clients[n]; ok {
				return n, c, ""
			}
		}
		return "", nil, "no LLM provider is configured (set OPENAI_API_KEY or ANTHROPIC_API_KEY)"
	}
	if c, ok := f.clients[name]; ok {
		return name, c, ""
	}
	return name, nil, "provider " + name + " is not configured: " + f.missing[name]
}

func (f *feature) embedClient() (*upstream.Client, string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	c := f.clients[upstream.OpenAI]
	switch {
	case !f.started:
		return nil, "the llm group is still starting"
	case c == nil:
		return nil, "embeddings need the openai provider: " + f.missing[upstream.OpenAI]
	}
	return c, ""
}

func (f *feature) cache() (groupapi.ResponseCache, bool) {
	if f.cacheSrc == nil || f.cfg.CacheTTL <= 0 {
		return nil, false
	}
	return f.cacheSrc.Get()
}
