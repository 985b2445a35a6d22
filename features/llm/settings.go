package llm

import (
	"fmt"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Config is the llm group's configuration, read from its settings.
type Config struct {
	OpenAIAPIKey     string
	OpenAIBaseURL    string
	OpenAIModel      string
	AnthropicAPIKey  string
	AnthropicBaseURL string
	AnthropicModel   string
	Timeout          time.Duration
	// EmbeddingModel is the default model of /api/v2/llm/embeddings and of
	// the embedder the vector group uses.
	EmbeddingModel string
	// MaxRetries bounds the retries of one call on upstream 429/5xx.
	MaxRetries int
	// RetryBackoff is the first retry's wait; it doubles per retry (with jitter).
	RetryBackoff time.Duration
	// MaxTokens is the default and the upper bound of a request's max_tokens.
	MaxTokens int
	// StreamMaxDuration bounds one streamed answer as a whole.
	StreamMaxDuration time.Duration
	// CacheTTL is how long deterministic answers stay in the shared cache
	// (0 disables caching).
	CacheTTL time.Duration
	// Models are the models /v1 routes, as "provider/model" or
	// "provider/*" (any model of that provider); empty: each configured
	// provider's default chat model and the embedding model.
	Models []string
	// DefaultProvider answers /v1 model names without a provider prefix;
	// empty: the first configured of openai, anthropic.
	DefaultProvider string
}

// Settings are the llm group's settings (prefixes OPENAI_, ANTHROPIC_, LLM_
// in its description), as registered and documented.
func Settings() []config.Setting { return settings(&Config{}) }

// settings declares each setting once, bound to the field of c it fills.
func settings(c *Config) []config.Setting {
	return []config.Setting{
		config.Bind(&c.OpenAIAPIKey, config.String("OPENAI_API_KEY", "", "API key of the OpenAI-compatible provider").AsSecret()),
		config.Bind(&c.OpenAIBaseURL, config.URL("OPENAI_BASE_URL", "https://api.openai.com/v1", "base URL of the OpenAI-compatible API; the endpoint paths go after its path and its query (an Azure deployment's api-version) is kept")),
		config.Bind(&c.OpenAIModel, config.String("OPENAI_MODEL", "gpt-4o-mini", "default OpenAI chat model")),
		config.Bind(&c.AnthropicAPIKey, config.String("ANTHROPIC_API_KEY", "", "API key of the Anthropic provider").AsSecret()),
		config.Bind(&c.AnthropicBaseURL, config.URL("ANTHROPIC_BASE_URL", "https://api.anthropic.com", "base URL of the Anthropic API")),
		config.Bind(&c.AnthropicModel, config.String("ANTHROPIC_MODEL", "claude-sonnet-4-5", "default Anthropic model")),
		config.Bind(&c.Timeout, config.Duration("LLM_TIMEOUT", 60*time.Second, time.Millisecond, 30*time.Minute, "timeout of one upstream LLM call")),
		config.Bind(&c.EmbeddingModel, config.String("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small", "default embedding model of the OpenAI-compatible provider")),
		config.Bind(&c.MaxRetries, config.Int("LLM_MAX_RETRIES", 2, 0, 10, "retries of one upstream LLM call on 429/5xx")),
		config.Bind(&c.RetryBackoff, config.Duration("LLM_RETRY_BACKOFF", 250*time.Millisecond, time.Millisecond, 30*time.Second, "wait before the first retry; doubles per retry, with jitter")),
		config.Bind(&c.MaxTokens, config.Int("LLM_MAX_TOKENS", 1024, 1, 1_000_000, "default and upper bound of a chat request's max_tokens")),
		config.Bind(&c.StreamMaxDuration, config.Duration("LLM_STREAM_MAX_DURATION", 10*time.Minute, time.Second, 2*time.Hour, "bound on one streamed answer as a whole")),
		config.Bind(&c.Models, config.Parsed("LLM_MODELS", "", "models the /v1 gateway routes, comma-separated provider/model or provider/* (empty: each provider's default models)", parseModels)),
		config.Bind(&c.DefaultProvider, config.Checked("LLM_DEFAULT_PROVIDER", "", "provider of /v1 model names without an openai/ or anthropic/ prefix (empty: the first configured of openai, anthropic)",
			func(v string) error {
				if v != "" && v != "openai" && v != "anthropic" {
					return fmt.Errorf("want openai or anthropic")
				}
				return nil
			})),
		config.Bind(&c.CacheTTL, config.Duration("LLM_CACHE_TTL", 10*time.Minute, 0, 30*24*time.Hour, "lifetime of cached deterministic answers and embeddings in Redis (0 disables)")),
	}
}

// configFrom fills a Config from the parsed settings.
func configFrom(v config.Values) Config {
	var c Config
	v.Into(settings(&c))
	return c
}

// maxModels bounds LLM_MODELS (the list is scanned per request).
const maxModels = 256

// parseModels reads LLM_MODELS: comma-separated provider/model entries.
func parseModels(v string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(v, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		prov, model, ok := strings.Cut(m, "/")
		if !ok || model == "" || (prov != "openai" && prov != "anthropic") {
			return nil, fmt.Errorf("entry %q: want openai/<model>, anthropic/<model> or <provider>/*", m)
		}
		out = append(out, m)
	}
	if len(out) > maxModels {
		return nil, fmt.Errorf("at most %d entries, got %d", maxModels, len(out))
	}
	return out, nil
}
