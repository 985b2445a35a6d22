package config

import (
	"fmt"
	"strings"
	"time"
)

// LLMConfig configures the llm group.
type LLMConfig struct {
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

// VectorConfig configures the vector group.
type VectorConfig struct {
	QdrantURL       string
	QdrantAPIKey    string
	RedisURL        string
	MemoryMaxPoints int
	// MemoryMaxCollections bounds the collections of the embedded index.
	MemoryMaxCollections int
	// QdrantTLS forces TLS (https:// and grpcs:// URLs imply it).
	QdrantTLS bool
	// QdrantCAFile is a PEM bundle of CAs to trust for Qdrant (empty: system roots).
	QdrantCAFile string
	// QdrantTimeout bounds one Qdrant call.
	QdrantTimeout time.Duration
	// RedisTimeout bounds dialling, each read/write and each Redis call.
	RedisTimeout time.Duration
	// RedisRetryInterval is how often an unreachable Redis is probed again.
	RedisRetryInterval time.Duration
}

func llmVars() []Var {
	return []Var{
		{Env: "OPENAI_API_KEY", Flag: "openai-api-key", Secret: true, Help: "API key of the OpenAI-compatible provider",
			set: func(c *Config, v string) error { return setString(&c.LLM.OpenAIAPIKey, v) }},
		{Env: "OPENAI_BASE_URL", Flag: "openai-base-url", Default: "https://api.openai.com/v1", Help: "base URL of the OpenAI-compatible API",
			set: func(c *Config, v string) error { return setURL(&c.LLM.OpenAIBaseURL, v) }},
		{Env: "OPENAI_MODEL", Flag: "openai-model", Default: "gpt-4o-mini", Help: "default OpenAI chat model",
			set: func(c *Config, v string) error { return setString(&c.LLM.OpenAIModel, v) }},
		{Env: "ANTHROPIC_API_KEY", Flag: "anthropic-api-key", Secret: true, Help: "API key of the Anthropic provider",
			set: func(c *Config, v string) error { return setString(&c.LLM.AnthropicAPIKey, v) }},
		{Env: "ANTHROPIC_BASE_URL", Flag: "anthropic-base-url", Default: "https://api.anthropic.com", Help: "base URL of the Anthropic API",
			set: func(c *Config, v string) error { return setURL(&c.LLM.AnthropicBaseURL, v) }},
		{Env: "ANTHROPIC_MODEL", Flag: "anthropic-model", Default: "claude-sonnet-4-5", Help: "default Anthropic model",
			set: func(c *Config, v string) error { return setString(&c.LLM.AnthropicModel, v) }},
		{Env: "LLM_TIMEOUT", Flag: "llm-timeout", Default: "60s", Help: "timeout of one upstream LLM call",
			set: func(c *Config, v string) error {
				return setDuration(&c.LLM.Timeout, v, time.Millisecond, 30*time.Minute)
			}},
		{Env: "OPENAI_EMBEDDING_MODEL", Flag: "openai-embedding-model", Default: "text-embedding-3-small", Help: "default embedding model of the OpenAI-compatible provider",
			set: func(c *Config, v string) error { return setString(&c.LLM.EmbeddingModel, v) }},
		{Env: "LLM_MAX_RETRIES", Flag: "llm-max-retries", Default: "2", Help: "retries of one upstream LLM call on 429/5xx",
			set: func(c *Config, v string) error { return setInt(&c.LLM.MaxRetries, v, 0, 10) }},
		{Env: "LLM_RETRY_BACKOFF", Flag: "llm-retry-backoff", Default: "250ms", Help: "wait before the first retry; doubles per retry, with jitter",
			set: func(c *Config, v string) error {
				return setDuration(&c.LLM.RetryBackoff, v, time.Millisecond, 30*time.Second)
			}},
		{Env: "LLM_MAX_TOKENS", Flag: "llm-max-tokens", Default: "1024", Help: "default and upper bound of a chat request's max_tokens",
			set: func(c *Config, v string) error { return setInt(&c.LLM.MaxTokens, v, 1, 1_000_000) }},
		{Env: "LLM_STREAM_MAX_DURATION", Flag: "llm-stream-max-duration", Default: "10m", Help: "bound on one streamed answer as a whole",
			set: func(c *Config, v string) error {
				return setDuration(&c.LLM.StreamMaxDuration, v, time.Second, 2*time.Hour)
			}},
		{Env: "LLM_MODELS", Flag: "llm-models", Help: "models the /v1 gateway routes, comma-separated provider/model or provider/* (empty: each provider's default models)",
			set: func(c *Config, v string) error { return setModels(&c.LLM.Models, v) }},
		{Env: "LLM_DEFAULT_PROVIDER", Flag: "llm-default-provider", Help: "provider of /v1 model names without an openai/ or anthropic/ prefix (empty: the first configured of openai, anthropic)",
			set: func(c *Config, v string) error {
				if v == "" {
					c.LLM.DefaultProvider = ""
					return nil
				}
				return setEnum(&c.LLM.DefaultProvider, v, "openai", "anthropic")
			}},
		{Env: "LLM_CACHE_TTL", Flag: "llm-cache-ttl", Default: "10m", Help: "lifetime of cached deterministic answers and embeddings in Redis (0 disables)",
			set: func(c *Config, v string) error {
				return setDuration(&c.LLM.CacheTTL, v, 0, 30*24*time.Hour)
			}},
	}
}

func vectorVars() []Var {
	return []Var{
		{Env: "QDRANT_URL", Flag: "qdrant-url", Help: "Qdrant gRPC address (host:port or URL); empty uses the embedded in-memory index",
			set: func(c *Config, v string) error { return setAddrOrURL(&c.Vector.QdrantURL, v) }},
		{Env: "QDRANT_API_KEY", Flag: "qdrant-api-key", Secret: true, Help: "Qdrant API key",
			set: func(c *Config, v string) error { return setString(&c.Vector.QdrantAPIKey, v) }},
		{Env: "REDIS_URL", Flag: "redis-url", Secret: true, Help: "Redis URL (redis://host:port/db) for the cache and shared limits",
			set: func(c *Config, v string) error { return setOptionalURL(&c.Vector.RedisURL, v) }},
		{Env: "VECTOR_MEMORY_MAX_POINTS", Flag: "vector-memory-max-points", Default: "100000", Help: "bound on points held by the embedded index",
			set: func(c *Config, v string) error { return setInt(&c.Vector.MemoryMaxPoints, v, 1, 100_000_000) }},
		{Env: "VECTOR_MEMORY_MAX_COLLECTIONS", Flag: "vector-memory-max-collections", Default: "100", Help: "bound on collections held by the embedded index",
			set: func(c *Config, v string) error { return setInt(&c.Vector.MemoryMaxCollections, v, 1, 100_000) }},
		{Env: "QDRANT_TLS", Flag: "qdrant-tls", Default: "false", Bool: true, Help: "use TLS to Qdrant (https:// and grpcs:// URLs imply it)",
			set: func(c *Config, v string) error { return setBool(&c.Vector.QdrantTLS, v) }},
		{Env: "QDRANT_CA_FILE", Flag: "qdrant-ca-file", Help: "PEM file of CAs to trust for Qdrant TLS; empty uses the system roots",
			set: func(c *Config, v string) error { return setString(&c.Vector.QdrantCAFile, v) }},
		{Env: "QDRANT_TIMEOUT", Flag: "qdrant-timeout", Default: "5s", Help: "bound on one Qdrant call",
			set: func(c *Config, v string) error {
				return setDuration(&c.Vector.QdrantTimeout, v, time.Millisecond, 10*time.Minute)
			}},
		{Env: "REDIS_TIMEOUT", Flag: "redis-timeout", Default: "50ms", Help: "bound on dialling Redis and on each Redis call",
			set: func(c *Config, v string) error {
				return setDuration(&c.Vector.RedisTimeout, v, time.Millisecond, 10*time.Second)
			}},
		{Env: "REDIS_RETRY_INTERVAL", Flag: "redis-retry-interval", Default: "1s", Help: "how often an unreachable Redis is probed again (calls bypass it meanwhile)",
			set: func(c *Config, v string) error {
				return setDuration(&c.Vector.RedisRetryInterval, v, 10*time.Millisecond, 5*time.Minute)
			}},
	}
}

// setAddrOrURL accepts "" (unset), host:port, or an absolute URL.
func setAddrOrURL(dst *string, v string) error {
	v = strings.TrimSpace(v)
	if v == "" || strings.Contains(v, "://") {
		return setOptionalURL(dst, v)
	}
	return setAddr(dst, v)
}

// maxModels bounds LLM_MODELS (the list is scanned per request).
const maxModels = 256

// setModels parses LLM_MODELS: comma-separated provider/model entries.
func setModels(dst *[]string, v string) error {
	var out []string
	for _, m := range strings.Split(v, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		prov, model, ok := strings.Cut(m, "/")
		if !ok || model == "" || (prov != "openai" && prov != "anthropic") {
			return fmt.Errorf("entry %q: want openai/<model>, anthropic/<model> or <provider>/*", m)
		}
		out = append(out, m)
	}
	if len(out) > maxModels {
		return fmt.Errorf("at most %d entries, got %d", maxModels, len(out))
	}
	*dst = out
	return nil
}
