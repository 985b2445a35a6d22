// Package ratelimit decides whether a client may make a request. Core
// provides local token buckets; the vector group provides a Redis-backed
// limiter (GCRA, redis_rate) shared by replicas, through
// groupapi.Services.Limiter. The contract both implement,
// groupapi.Limiter and its groupapi.Decision, lives with the other
// contracts in internal/groupapi.
package ratelimit
