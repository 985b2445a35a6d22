package config

import (
	"fmt"
	"strconv"
	"time"
)

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
	// BodyMemoryMaxBytes bounds the bytes that all request bodies in
	// flight hold together, reserved as they are read (not as declared)
	// and released when the handler is done; beyond it a request gets 503
	// with Retry-After (issue 20: 200 clients that each declared 1 MiB and
	// sent a byte held 200 MiB).
	BodyMemoryMaxBytes int64
}

// DefaultBodyMemoryMaxBytes is 64 MiB: 64 bodies of the default
// MAX_BODY_BYTES at once.
const DefaultBodyMemoryMaxBytes = 64 << 20

// validateHTTP: one body of MAX_BODY_BYTES must fit the memory bound of all
// bodies, or such a request could never be served.
func (c *Config) validateHTTP() error {
	if c.HTTP.BodyMemoryMaxBytes < c.MaxBodyBytes {
		return &Error{Var: "REQUEST_BODY_MEMORY_MAX_BYTES", Value: strconv.FormatInt(c.HTTP.BodyMemoryMaxBytes, 10),
			Err: fmt.Errorf("want at least MAX_BODY_BYTES (%d): one body of that size must fit", c.MaxBodyBytes)}
	}
	return nil
}

func httpSettings(h *HTTPConfig) []Setting {
	dur := func(dst *time.Duration, name, def, help string) Setting {
		return Bind(dst, DurationText(name, def, time.Millisecond, time.Hour, help))
	}
	return []Setting{
		dur(&h.ReadHeaderTimeout, "HTTP_READ_HEADER_TIMEOUT", "10s", "bound on reading a request's headers"),
		dur(&h.ReadTimeout, "HTTP_READ_TIMEOUT", "30s", "bound on reading a request's body after its headers (408 beyond)"),
		dur(&h.WriteTimeout, "HTTP_WRITE_TIMEOUT", "30s",
			"bound on each write of a response (renewed per write, so streams that keep moving are not cut)"),
		dur(&h.IdleTimeout, "HTTP_IDLE_TIMEOUT", "60s", "how long a keep-alive connection may wait for its next request"),
		Bind(&h.BodyMemoryMaxBytes, Int64("REQUEST_BODY_MEMORY_MAX_BYTES", DefaultBodyMemoryMaxBytes, 4096, 1<<40,
			"bound on the bytes all request bodies in flight hold together, reserved as read, not as declared (503 with Retry-After beyond; at least MAX_BODY_BYTES)")),
	}
}
