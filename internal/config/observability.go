package config

// ObservabilityConfig configures request logs (the dashboard issue).
type ObservabilityConfig struct {
	// RequestLog writes one log line per request (method, route, status,
	// duration, client, request id).
	RequestLog bool
}

func observabilitySettings(o *ObservabilityConfig) []Setting {
	return []Setting{
		Bind(&o.RequestLog, Bool("REQUEST_LOG", true,
			"log one line per request: method, route, status, duration, client, request id")),
	}
}
