package config

import "time"

// LLMConfig configures the llm group.
type LLMConfig struct {
	OpenAIAPIKey     string
	OpenAIBaseURL    string
	OpenAIModel      string
	AnthropicAPIKey  string
	AnthropicBaseURL string
	AnthropicModel   string
	Timeout          time.Duration
}

// VectorConfig configures the vector group.
type VectorConfig struct {
	QdrantURL       string
	QdrantAPIKey    string
	RedisURL        string
	MemoryMaxPoints int
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
	}
}

func vectorVars() []Var {
	return []Var{
		{Env: "QDRANT_URL", Flag: "qdrant-url", Help: "Qdrant gRPC address (host:port or URL); empty uses the embedded in-memory index",
			set: func(c *Config, v string) error { return setOptionalURL(&c.Vector.QdrantURL, v) }},
		{Env: "QDRANT_API_KEY", Flag: "qdrant-api-key", Secret: true, Help: "Qdrant API key",
			set: func(c *Config, v string) error { return setString(&c.Vector.QdrantAPIKey, v) }},
		{Env: "REDIS_URL", Flag: "redis-url", Secret: true, Help: "Redis URL (redis://host:port/db) for the cache and shared limits",
			set: func(c *Config, v string) error { return setOptionalURL(&c.Vector.RedisURL, v) }},
		{Env: "VECTOR_MEMORY_MAX_POINTS", Flag: "vector-memory-max-points", Default: "100000", Help: "bound on points held by the embedded index",
			set: func(c *Config, v string) error { return setInt(&c.Vector.MemoryMaxPoints, v, 1, 100_000_000) }},
	}
}
