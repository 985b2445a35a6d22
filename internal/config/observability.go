package config

import "time"

// ObservabilityConfig configures request logs and the rolling error-rate
// gauges (the dashboard issue).
type ObservabilityConfig struct {
	// RequestLog writes one log line per request (method, route, status,
	// duration, client, request id).
	RequestLog bool
	// ErrorRateWindow is the length of the rolling window of the per-route
	// 5xx share (advanced_backend_http_error_rate).
	ErrorRateWindow time.Duration
}

func observabilityVars() []Var {
	return []Var{
		{Env: "REQUEST_LOG", Flag: "request-log", Default: "true", Bool: true,
			Help: "log one line per request: method, route, status, duration, client, request id",
			set:  func(c *Config, v string) error { return setBool(&c.Observability.RequestLog, v) }},
		{Env: "ERROR_RATE_WINDOW", Flag: "error-rate-window", Default: "60s",
			Help: "rolling window of the per-route 5xx share gauge (advanced_backend_http_error_rate)",
			set: func(c *Config, v string) error {
				return setDuration(&c.Observability.ErrorRateWindow, v, 10*time.Second, time.Hour)
			}},
	}
}
