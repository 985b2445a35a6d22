package config

// ObservabilityConfig configures request logs (the dashboard issue).
type ObservabilityConfig struct {
	// RequestLog writes one log line per request (method, route, status,
	// duration, client, request id).
	RequestLog bool
}

func observabilityVars() []Var {
	return []Var{
		{Env: "REQUEST_LOG", Flag: "request-log", Default: "true", Bool: true,
			Help: "log one line per request: method, route, status, duration, client, request id",
			set:  func(c *Config, v string) error { return setBool(&c.Observability.RequestLog, v) }},
	}
}
