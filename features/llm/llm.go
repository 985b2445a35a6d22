// Package llm is the LLM group (build tag llm): chat, streaming and
// embeddings against OpenAI-compatible and Anthropic APIs. In this state it
// constructs its provider clients from configuration and reports which are
// usable; the HTTP routes come with the llm issue.
package llm

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	openai "github.com/sashabaranov/go-openai"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

func init() { capability.Register("llm", &feature{}) }

type feature struct {
	cfg config.LLMConfig

	mu        sync.RWMutex
	openai    *openai.Client
	anthropic *anthropic.Client
	detail    string
}

func (f *feature) Setup(h *capability.Host) error {
	f.cfg = h.Config.LLM
	return nil
}

// Start builds a client for every provider that has credentials. Building a
// client does no I/O.
func (f *feature) Start(ctx context.Context) error {
	httpClient := &http.Client{Timeout: f.cfg.Timeout} // go-openai's default client has no timeout
	var notes []string
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.OpenAIAPIKey != "" {
		oc := openai.DefaultConfig(f.cfg.OpenAIAPIKey)
		oc.BaseURL = f.cfg.OpenAIBaseURL
		oc.HTTPClient = httpClient
		f.openai = openai.NewClientWithConfig(oc)
		notes = append(notes, "openai: ready ("+f.cfg.OpenAIBaseURL+")")
	} else {
		notes = append(notes, "openai: OPENAI_API_KEY not set")
	}
	if f.cfg.AnthropicAPIKey != "" {
		c := anthropic.NewClient(
			option.WithAPIKey(f.cfg.AnthropicAPIKey),
			option.WithBaseURL(f.cfg.AnthropicBaseURL),
			option.WithHTTPClient(httpClient),
		)
		f.anthropic = &c
		notes = append(notes, "anthropic: ready ("+f.cfg.AnthropicBaseURL+")")
	} else {
		notes = append(notes, "anthropic: ANTHROPIC_API_KEY not set")
	}
	f.detail = strings.Join(notes, "; ") + "; HTTP routes not built yet"
	return nil
}

func (f *feature) Stop(ctx context.Context) error { return nil }

func (f *feature) Status() capability.Status {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return capability.Status{Ready: f.openai != nil || f.anthropic != nil, Detail: f.detail}
}
