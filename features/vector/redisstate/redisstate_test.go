package redisstate

// These tests run against a real redis-server (internal/testkit/testredis) on a
// random loopback port.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

var ctx = context.Background()

type events struct {
	mu  sync.Mutex
	got []bool
	ch  chan bool
}

func (e *events) on(up bool, _ string) {
	e.mu.Lock()
	e.got = append(e.got, up)
	e.mu.Unlock()
	select {
	case e.ch <- up:
	default:
	}
}

func newGuard(t testing.TB, url string, reg prometheus.Registerer, ev *events) *Guard {
	t.Helper()
	o := Options{URL: url, Timeout: 200 * time.Millisecond, RetryInterval: 50 * time.Millisecond}
	if reg != nil {
		o.Metrics = grouptest.Metrics(reg)
	}
	if ev != nil {
		o.OnChange = ev.on
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestCacheHitsAndTTL(t *testing.T) {
	rs := testredis.Start(t)
	g := newGuard(t, rs.URL, nil, nil)
	c := NewCache(g)
	if _, hit, err := c.Get(ctx, "k"); hit || err != nil {
		t.Fatalf("empty cache: %v %v", hit, err)
	}
	if err := c.Set(ctx, "k", []byte("v1"), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b, hit, err := c.Get(ctx, "k")
	if !hit || err != nil || string(b) != "v1" {
		t.Fatalf("hit: %q %v %v", b, hit, err)
	}
	ttl, err := g.client.PTTL(ctx, keyPrefix+"k").Result()
	if err != nil || ttl <= 0 || ttl > 300*time.Millisecond {
		t.Fatalf("ttl in redis %v %v", ttl, err)
	}
	waitfor.True(t, 5*time.Second, "the entry to expire with its TTL", func() bool {
		_, hit, _ := c.Get(ctx, "k")
		return !hit
	})
	if err := c.Set(ctx, "big", make([]byte, MaxValueBytes+1), time.Minute); err == nil {
		t.Fatal("oversized value cached")
	}
	if err := c.Set(ctx, "k", []byte("x"), 0); err == nil {
		t.Fatal("zero ttl accepted")
	}
}

func TestSharedLimitsAcrossInstances(t *testing.T) {
	rs := testredis.Start(t)
	// two service instances, each with its own client, one Redis
	a := NewLimiter(newGuard(t, rs.URL, nil, nil), 0.01, 5)
	b := NewLimiter(newGuard(t, rs.URL, nil, nil), 0.01, 5)
	allowed := 0
	for i := 0; i < 10; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Allow(ctx, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Limit != 5 {
			t.Fatalf("limit %d", d.Limit)
		}
		if d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 {
			t.Fatalf("denied without Retry-After: %+v", d)
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 10 allowed across two instances, want the shared burst of 5", allowed)
	}
	if d, err := b.Allow(ctx, "client-2"); err != nil || !d.Allowed || d.Remaining != 4 {
		t.Fatalf("another key: %+v %v", d, err)
	}
}

func TestRedisKilledFallsBackAndRecovers(t *testing.T) {
	rs := testredis.Start(t)
	reg := prometheus.NewRegistry()
	ev := &events{ch: make(chan bool, 8)}
	g := newGuard(t, rs.URL, reg, ev)
	l := NewLimiter(g, 100, 10)
	c := NewCache(g)
	if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
		t.Fatalf("%+v %v", d, err)
	}
	if ok, _ := g.Status(); !ok {
		t.Fatal("not up after a successful call")
	}

	rs.Kill()
	start := time.Now()
	_, err := l.Allow(ctx, "k")
	first := time.Since(start)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after kill: %v", err)
	}
	select {
	case up := <-ev.ch:
		if up {
			t.Fatal("told up after kill")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no fallback event")
	}
	// while down, calls are refused without I/O
	start = time.Now()
	for i := 0; i < 100; i++ {
		if _, err := l.Allow(ctx, "k"); !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
		if _, _, err := c.Get(ctx, "x"); !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
	}
	t.Logf("dead Redis: first call %v, then %v per call (limiter+cache)", first, time.Since(start)/100)
	if v := value(g.bypassed.WithLabelValues("limiter")); v != 101 {
		t.Fatalf("limiter fallbacks %v", v)
	}
	if v := value(g.upGauge); v != 0 {
		t.Fatalf("redis_up %v", v)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); g.Run(runCtx) }()
	defer func() { stop(); <-done }()
	rs.Restart()
	select {
	case up := <-ev.ch:
		if !up {
			t.Fatal("told down again")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no recovery event after Redis came back")
	}
	if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
		t.Fatalf("after recovery: %+v %v", d, err)
	}
	if err := c.Set(ctx, "x", []byte("y"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if value(g.changes.WithLabelValues("down")) != 1 || value(g.changes.WithLabelValues("up")) != 1 ||
		value(g.upGauge) != 1 {
		t.Fatal("state change metrics")
	}
}

// TestSilentRedisIsBounded points the guard at a port that accepts TCP and
// never answers: the first call gives up after the timeout, later ones at
// once.
func TestSilentRedisIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	g := newGuard(t, fmt.Sprintf("redis://%s/0", ln.Addr()), nil, nil)
	c := NewCache(g)
	done := make(chan error, 1)
	go func() { _, _, err := c.Get(ctx, "k"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call to a silent Redis not bounded")
	}
	if ok, detail := g.Status(); ok || detail == "" {
		t.Fatalf("status %v %q", ok, detail)
	}
}

func TestCallerCancellationIsNotAFailure(t *testing.T) {
	rs := testredis.Start(t)
	g := newGuard(t, rs.URL, nil, nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, _ = NewCache(g).Get(cctx, "k")
	if _, _, err := NewCache(g).Get(ctx, "k"); err != nil {
		t.Fatalf("breaker opened by a canceled caller: %v", err)
	}
}

// BenchmarkAllowUp measures a shared-limit decision against a live Redis on
// loopback; BenchmarkAllowDown the cost while Redis is down (breaker open).
func BenchmarkAllowUp(b *testing.B) {
	rs := testredis.Start(b)
	l := NewLimiter(newGuard(b, rs.URL, nil, nil), 1e6, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Allow(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAllowDown(b *testing.B) {
	rs := testredis.Start(b)
	g := newGuard(b, rs.URL, nil, nil)
	l := NewLimiter(g, 1e6, 1000)
	rs.Kill()
	_, _ = l.Allow(ctx, "bench") // opens the breaker
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Allow(ctx, "bench"); err == nil {
			b.Fatal("allowed while down")
		}
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func TestPerRouteRateIsSharedToo(t *testing.T) {
	rs := testredis.Start(t)
	a := NewLimiter(newGuard(t, rs.URL, nil, nil), 1000, 1000)
	b := NewLimiter(newGuard(t, rs.URL, nil, nil), 1000, 1000)
	allowed := 0
	for i := 0; i < 8; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.AllowRate(ctx, "GET /x ip:1", 0.01, 3)
		if err != nil {
			t.Fatal(err)
		}
		if d.Limit != 3 {
			t.Fatalf("limit %d, want the override's burst", d.Limit)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("%d of 8 allowed under a shared override of burst 3", allowed)
	}
	if _, err := a.AllowRate(ctx, "k", 0, 3); err == nil {
		t.Fatal("zero rate accepted")
	}
}
