package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
		{Env: "REQUEST_BODY_MEMORY_MAX_BYTES", Flag: "request-body-memory-max-bytes", Default: strconv.Itoa(DefaultBodyMemoryMaxBytes),
			Help: "bound on the bytes all request bodies in flight hold together, reserved as read, not as declared (503 with Retry-After beyond; at least MAX_BODY_BYTES)",
			set: func(c *Config, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return errors.New("want an integer")
				}
				if n < 4096 || n > 1<<40 {
					return fmt.Errorf("want an integer between %d and %d", 4096, int64(1)<<40)
				}
				c.HTTP.BodyMemoryMaxBytes = n
				return nil
			}},
	}
}
