package ratelimit

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkLocalAllow: one key, and keys cycling through a full table
// (every call an eviction).
func BenchmarkLocalAllow(b *testing.B) {
	ctx := context.Background()
	b.Run("one-key", func(b *testing.B) {
		l := NewLocal(1e6, 1e6, 10_000, nil)
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(ctx, "ip:192.0.2.1")
		}
	})
	b.Run("evicting", func(b *testing.B) {
		l := NewLocal(1e6, 1e6, 10_000, nil)
		keys := make([]string, 20_000)
		for i := range keys {
			keys[i] = "ip:10.0." + strconv.Itoa(i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Allow(ctx, keys[i%len(keys)])
			i++
		}
	})
}

// BenchmarkMiddleware is one request through gin with the limiter in front
// of a trivial handler.
func BenchmarkMiddleware(b *testing.B) {
	m := New(Options{RPS: 1e6, Burst: 1e6, MaxClients: 10_000, Key: ipKey})
	e := newEngine(m)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/api/free", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		e.ServeHTTP(w, r)
	}
}
