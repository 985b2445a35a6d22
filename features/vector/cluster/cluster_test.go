package cluster

// These tests run against a real redis-server (internal/testkit/testredis) on a
// random loopback port, with real latency engines as the members.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/redisstate"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

var ctx = context.Background()

// member is a replica's core side over a real engine (t-digest).
type member struct {
	id     string
	eng    *latency.Engine
	resets atomic.Int32
	fail   error
}

func (m *member) ReplicaID() string { return m.id }
func (m *member) ExportLatency(maxBytes int) ([]byte, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	return m.eng.ExportCluster(maxBytes)
}
func (m *member) ResetLatency() { m.resets.Add(1); m.eng.Reset() }

func newMember(t *testing.T, id string, samples ...float64) *member {
	t.Helper()
	eng, err := latency.New(latency.Options{Estimator: latency.Select(100, 2048), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	if err := eng.SetRoutes([]latency.Route{{Method: "GET", Path: "/health"}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range samples {
		if err := eng.Record(eng.Resolve("GET", "/health"), 200, v); err != nil {
			t.Fatal(err)
		}
	}
	return &member{id: id, eng: eng}
}

func newCluster(t *testing.T, url string, m groupapi.ClusterMember, ttl time.Duration) (*Cluster, *redisstate.Guard) {
	t.Helper()
	g, err := redisstate.New(redisstate.Options{URL: url, Timeout: 500 * time.Millisecond, RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	c, err := New(Options{Guard: g, Member: m, Interval: ttl / 3, TTL: ttl, MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return c, g
}

func ids(reps []groupapi.ReplicaPayload) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

// eventually is waitfor.True (kept short for this file's many waits).
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	waitfor.True(t, within, what, cond)
}

func TestPublishReadAndExpire(t *testing.T) {
	rs := testredis.Start(t)
	m1, m2 := newMember(t, "r1", 1, 2, 3), newMember(t, "r2", 10, 20)
	c1, _ := newCluster(t, rs.URL, m1, 900*time.Millisecond)
	c2, _ := newCluster(t, rs.URL, m2, 900*time.Millisecond)
	if reps, err := c1.Replicas(ctx); err != nil || len(reps) != 0 {
		t.Fatalf("empty store: %v %v", reps, err)
	}
	for _, c := range []*Cluster{c1, c2} {
		if err := c.PublishOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	reps, err := c2.Replicas(ctx)
	if err != nil || !slices.Equal(ids(reps), []string{"r1", "r2"}) {
		t.Fatalf("replicas %v, %v", ids(reps), err)
	}
	parts := make([]latency.ClusterPart, len(reps))
	for i, r := range reps {
		if r.Age < 0 || r.Age > 900*time.Millisecond {
			t.Errorf("%s: age %s outside [0, ttl]", r.ID, r.Age)
		}
		parts[i] = latency.ClusterPart{Replica: r.ID, Age: r.Age, Data: r.Data}
	}
	rep := latency.ClusterQuantiles(parts, nil, "")
	if rep.Overall["count"] != uint64(5) || rep.Routes["GET /health"]["count"] != uint64(5) {
		t.Fatalf("merged %v", rep.Overall)
	}
	// r2 stops publishing; r1 keeps going: r2 leaves after its TTL, and
	// its member entry is dropped from the set.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c1.Run(runCtx) }()
	defer func() { stop(); <-done }()
	eventually(t, 5*time.Second, "r2 expires", func() bool {
		reps, err := c1.Replicas(ctx)
		return err == nil && slices.Equal(ids(reps), []string{"r1"})
	})
	if n, err := c1.o.Guard.Client().ZCard(ctx, membersKey).Result(); err != nil || n != 1 {
		t.Errorf("member set holds %d (%v), want 1", n, err)
	}
}

func TestResetReachesEveryReplica(t *testing.T) {
	rs := testredis.Start(t)
	m1, m2 := newMember(t, "r1", 1, 2), newMember(t, "r2", 3, 4)
	c1, _ := newCluster(t, rs.URL, m1, 3*time.Second)
	c2, _ := newCluster(t, rs.URL, m2, 3*time.Second)
	for _, c := range []*Cluster{c1, c2} {
		if err := c.PublishOnce(ctx); err != nil { // baseline: no token yet
			t.Fatal(err)
		}
	}
	told, err := c1.ResetAll(ctx)
	if err != nil || !slices.Equal(told, []string{"r1", "r2"}) && !slices.Equal(told, []string{"r2", "r1"}) {
		t.Fatalf("told %v, %v", told, err)
	}
	for _, c := range []*Cluster{c1, c2} {
		if err := c.PublishOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if m2.resets.Load() != 1 {
		t.Errorf("r2 applied %d resets, want 1", m2.resets.Load())
	}
	if m1.resets.Load() != 0 { // the caller resets itself; its publisher must not again
		t.Errorf("r1's publisher reset %d times, want 0", m1.resets.Load())
	}
	if err := c2.PublishOnce(ctx); err != nil || m2.resets.Load() != 1 {
		t.Errorf("the same token applied twice: %d resets, %v", m2.resets.Load(), err)
	}
	// A replica that starts after the reset takes the token as its baseline.
	m3 := newMember(t, "r3", 5)
	c3, _ := newCluster(t, rs.URL, m3, 3*time.Second)
	for i := 0; i < 2; i++ {
		if err := c3.PublishOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if m3.resets.Load() != 0 {
		t.Errorf("a new replica applied an old reset")
	}
}

func TestRedisDownAndBack(t *testing.T) {
	rs := testredis.Start(t)
	m1 := newMember(t, "r1", 1, 2, 3)
	c1, g := newCluster(t, rs.URL, m1, 900*time.Millisecond)
	if err := c1.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	rs.Kill()
	if err := c1.PublishOnce(ctx); err == nil {
		t.Fatal("publish with Redis down succeeded")
	}
	start := time.Now()
	_, err := c1.Replicas(ctx)
	if !errors.Is(err, redisstate.ErrUnavailable) {
		t.Fatalf("read with Redis down: %v", err)
	}
	t.Logf("read with Redis down failed after %s (breaker open: no network wait)", time.Since(start))
	if _, err := c1.ResetAll(ctx); err == nil {
		t.Fatal("reset with Redis down succeeded")
	}
	rs.Restart()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Add(2)
	go func() { defer wg.Done(); g.Run(runCtx) }() // the vector group runs the probe; here the test does
	go func() { defer wg.Done(); c1.Run(runCtx) }()
	eventually(t, 10*time.Second, "the cluster view comes back", func() bool {
		reps, err := c1.Replicas(ctx)
		return err == nil && len(reps) == 1 && reps[0].ID == "r1"
	})
}

func TestExportFailureIsCounted(t *testing.T) {
	rs := testredis.Start(t)
	m := newMember(t, "r1")
	m.fail = fmt.Errorf("too big")
	c, _ := newCluster(t, rs.URL, m, time.Second)
	if err := c.PublishOnce(ctx); err == nil {
		t.Fatal("publish of a failed export succeeded")
	}
	if reps, err := c.Replicas(ctx); err != nil || len(reps) != 0 {
		t.Fatalf("a failed export was published: %v %v", reps, err)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("no guard, no member: accepted")
	}
	g, err := redisstate.New(redisstate.Options{URL: "redis://127.0.0.1:1/0", Timeout: time.Second, RetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := New(Options{Guard: g, Member: &member{id: "x"}, Interval: time.Second, TTL: time.Millisecond, MaxBytes: 1}); err == nil {
		t.Error("ttl below the interval: accepted")
	}
}
