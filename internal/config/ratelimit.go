package config

// RateLimitConfig configures per-client rate limiting.
type RateLimitConfig struct {
	RPS        float64
	Burst      int
	MaxClients int
}

func rateLimitSettings(r *RateLimitConfig) []Setting {
	return []Setting{
		Bind(&r.RPS, Float("RATE_LIMIT_RPS", 50, 0, 1e6, "sustained requests per second per client (0 disables rate limiting)")),
		Bind(&r.Burst, Int("RATE_LIMIT_BURST", 100, 1, 1_000_000, "bucket size per client")),
		Bind(&r.MaxClients, Int("RATE_LIMIT_MAX_CLIENTS", 10000, 1, 10_000_000,
			"bound on the local limiter's client table (least recently seen evicted)")),
	}
}
