// Package ratelimit decides whether a client may make a request. Core
// provides local token buckets; the vector group provides a Redis-backed
// limiter (GCRA, redis_rate) shared by replicas, through
// capability.Services.Limiter.
package ratelimit

import (
	"context"
	"time"
)

// Decision is the outcome of one Allow call; the middleware turns it into
// X-RateLimit-* and Retry-After headers.
type Decision struct {
	Allowed    bool
	Limit      int           // burst size
	Remaining  int           // requests left right now
	RetryAfter time.Duration // when not allowed: wait at least this long
	ResetAfter time.Duration // until the bucket is full again
}

// Limiter decides for one key (a subject or a client IP).
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}
