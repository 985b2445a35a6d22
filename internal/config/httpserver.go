package config

import "time"

// HTTPConfig bounds how long one client may hold a connection (issue 12:
// idle keep-alive connections and slow bodies were held forever).
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a request's body, from the end of its
	// headers to the end of the body; a slower body is cut with a 408.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of a response (set again before every
	// write), so a client that stops reading is dropped while a stream
	// that keeps moving runs as long as its own bounds allow.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
}

func httpVars() []Var {
	dur := func(dst func(*Config) *time.Duration) func(c *Config, v string) error {
		return func(c *Config, v string) error { return setDuration(dst(c), v, time.Millisecond, time.Hour) }
	}
	return []Var{
		{Env: "HTTP_READ_HEADER_TIMEOUT", Flag: "http-read-header-timeout", Default: "10s",
			Help: "bound on reading a request's headers",
			set:  dur(func(c *Config) *time.Duration { return &c.HTTP.ReadHeaderTimeout })},
		{Env: "HTTP_READ_TIMEOUT", Flag: "http-read-timeout", Default: "30s",
			Help: "bound on reading a request's body after its headers (408 beyond)",
			set:  dur(func(c *Config) *time.Duration { return &c.HTTP.ReadTimeout })},
		{Env: "HTTP_WRITE_TIMEOUT", Flag: "http-write-timeout", Default: "30s",
			Help: "bound on each write of a response (renewed per write, so streams that keep moving are not cut)",
			set:  dur(func(c *Config) *time.Duration { return &c.HTTP.WriteTimeout })},
		{Env: "HTTP_IDLE_TIMEOUT", Flag: "http-idle-timeout", Default: "60s",
			Help: "how long a keep-alive connection may wait for its next request",
			set:  dur(func(c *Config) *time.Duration { return &c.HTTP.IdleTimeout })},
	}
}
