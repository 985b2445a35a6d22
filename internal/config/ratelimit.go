package config

// RateLimitConfig configures per-client rate limiting.
type RateLimitConfig struct {
	RPS        float64
	Burst      int
	MaxClients int
}

func rateLimitVars() []Var {
	return []Var{
		{Env: "RATE_LIMIT_RPS", Flag: "rate-limit-rps", Default: "50", Help: "sustained requests per second per client (0 disables rate limiting)",
			set: func(c *Config, v string) error { return setFloat(&c.RateLimit.RPS, v, 0, 1e6) }},
		{Env: "RATE_LIMIT_BURST", Flag: "rate-limit-burst", Default: "100", Help: "bucket size per client",
			set: func(c *Config, v string) error { return setInt(&c.RateLimit.Burst, v, 1, 1_000_000) }},
		{Env: "RATE_LIMIT_MAX_CLIENTS", Flag: "rate-limit-max-clients", Default: "10000", Help: "bound on the local limiter's client table (least recently seen evicted)",
			set: func(c *Config, v string) error { return setInt(&c.RateLimit.MaxClients, v, 1, 10_000_000) }},
	}
}
