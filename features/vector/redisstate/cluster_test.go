package redisstate

// These tests run against a real Redis Cluster (internal/testkit/testredis
// StartCluster: Debian's redis-server on random loopback ports, joined by
// redis-cli --cluster create).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

func TestClusterURL(t *testing.T) {
	for _, tc := range []struct {
		url, addr string
		cluster   bool
		bad       string // part of the error
	}{
		{url: "redis://127.0.0.1:6379/2", addr: "127.0.0.1:6379"},
		{url: "redis://:pw@127.0.0.1:7000,127.0.0.1:7001", addr: "127.0.0.1:7000,127.0.0.1:7001", cluster: true},
		{url: "rediss://u:pw@a.example:7000,b.example:7000,c.example:7000/0?dial_timeout=1s", addr: "a.example:7000,b.example:7000,c.example:7000", cluster: true},
		{url: "redis://:pw@127.0.0.1:7000,127.0.0.1:7001/3", bad: "only database 0"},
		{url: "redis://:pw@127.0.0.1,127.0.0.1:7001", bad: "node 1"},
		{url: "redis://:pw@127.0.0.1:7000,127.0.0.1", bad: "not a URL"},
		{url: "redis://:pw@127.0.0.1:7000,127.0.0.1:7001?addr=127.0.0.1:7002", bad: "host part"},
		{url: "redis://:pw@127.0.0.1:7000,127.0.0.1:7001?no_such_option=1", bad: "unexpected option"},
	} {
		g, err := New(Options{URL: tc.url, Timeout: time.Second, RetryInterval: time.Second})
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) || strings.Contains(err.Error(), "pw") {
				t.Errorf("%s: error %v, want one saying %q without the password", tc.url, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		_, isCluster := g.Client().(*redis.ClusterClient)
		if g.Addr() != tc.addr || g.Cluster() != tc.cluster || isCluster != tc.cluster || strings.Contains(g.Describe(), "pw") {
			t.Errorf("%s: addr %q cluster %v (%T) describe %q", tc.url, g.Addr(), g.Cluster(), g.Client(), g.Describe())
		}
		if tc.cluster && strings.HasPrefix(tc.url, "rediss") {
			o := g.Client().(*redis.ClusterClient).Options()
			if o.TLSConfig == nil || o.TLSConfig.ServerName != "" || o.DialTimeout != time.Second || o.Password != "pw" {
				t.Errorf("%s: tls %+v, dial timeout %s", tc.url, o.TLSConfig, o.DialTimeout)
			}
		}
		g.Close()
	}
}

// Two service instances (each its own cluster client) draw on one budget
// per client; each client's budget is one key on the master that serves
// its slot, and many clients spread over all three masters. The cache
// works on the cluster too.
func TestClusterSharedLimitsSpreadOverSlots(t *testing.T) {
	rc := testredis.StartCluster(t, 3, 0)
	a := NewLimiter(newGuard(t, rc.URL, nil, nil), 0.01, 3)
	b := NewLimiter(newGuard(t, rc.URL, nil, nil), 0.01, 3)
	perMaster := map[string]int{}
	const clients = 30
	for c := 0; c < clients; c++ {
		key := fmt.Sprintf("ip:10.0.0.%d", c)
		allowed := 0
		for i := 0; i < 6; i++ {
			l := a
			if i%2 == 1 {
				l = b
			}
			d, err := l.Allow(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				allowed++
			}
		}
		if allowed != 3 {
			t.Fatalf("%s: %d of 6 allowed across two instances, want the shared burst of 3", key, allowed)
		}
		m := rc.MasterFor(LimitKey(key))
		if n, err := m.Do("EXISTS", LimitKey(key)); err != nil || n != "1" {
			t.Fatalf("%s: budget key %s not on its slot's master %s: %q %v", key, LimitKey(key), m.Addr, n, err)
		}
		perMaster[m.Addr]++
	}
	if len(perMaster) != 3 {
		t.Fatalf("%d clients' budgets on %d masters (%v), want all three", clients, len(perMaster), perMaster)
	}
	t.Logf("budgets per master: %v", perMaster)
	// the per-route override too
	d, err := a.AllowRate(ctx, "GET /x ip:1", 0.01, 2)
	if err != nil || !d.Allowed || d.Limit != 2 {
		t.Fatalf("override on the cluster: %+v %v", d, err)
	}

	c := NewCache(newGuard(t, rc.URL, nil, nil))
	for i := 0; i < 20; i++ {
		k := fmt.Sprintf("entry-%d", i)
		if err := c.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatal(err)
		}
		if v, hit, err := c.Get(ctx, k); !hit || err != nil || string(v) != k {
			t.Fatalf("cache on the cluster: %q %v %v", v, hit, err)
		}
	}
}

// Losing a master sends the limiter to its fallback (ErrUnavailable, core
// then decides with local buckets) and it comes back by itself: once the
// replica is promoted, or, without a replica, once the master returns.
func TestClusterMasterLost(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
	}{{"replica_promoted", 1}, {"no_replica", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			rc := testredis.StartCluster(t, 3, tc.replicas)
			reg := prometheus.NewRegistry()
			ev := &events{ch: make(chan bool, 8)}
			g := newGuard(t, rc.URL, reg, ev)
			og := newGuard(t, rc.URL, nil, nil) // a second service instance
			other := NewLimiter(og, 0.01, 1000)
			l := NewLimiter(g, 0.01, 1000)
			const key = "ip:192.0.2.7"
			if d, err := l.Allow(ctx, key); err != nil || !d.Allowed || d.Remaining != 999 {
				t.Fatalf("%+v %v", d, err)
			}
			if err := g.Probe(ctx); err != nil {
				t.Fatalf("probe of a whole cluster: %v", err)
			}
			m := rc.MasterFor(LimitKey(key))
			replica := rc.ReplicaOf(m)
			if (replica != nil) != (tc.replicas > 0) {
				t.Fatalf("replica of %s: %v", m.Addr, replica)
			}
			m.Kill()

			if _, err := l.Allow(ctx, key); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("with the key's master dead: %v", err)
			}
			select {
			case up := <-ev.ch:
				if up {
					t.Fatal("told up after the kill")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no fallback event")
			}
			// open breaker: every key is refused at once, whatever its slot
			if _, err := l.Allow(ctx, "ip:elsewhere"); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("open breaker let a call through: %v", err)
			}

			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{}, 2)
			go func() { defer func() { done <- struct{}{} }(); g.Run(runCtx) }()
			go func() { defer func() { done <- struct{}{} }(); og.Run(runCtx) }()
			defer func() { stop(); <-done; <-done }()
			if replica == nil {
				// Without a replica the slots stay dead: the others mark
				// the master failed, and the probe keeps the breaker open.
				waitfor.True(t, 30*time.Second, "the cluster to mark the master failed", func() bool {
					for _, s := range rc.Nodes {
						if s.Running() {
							info, err := s.Do("CLUSTER", "INFO")
							return err == nil && strings.Contains(info, "cluster_state:fail")
						}
					}
					return false
				})
				if err := g.Probe(ctx); err == nil {
					t.Fatal("probe says up with a master dead and no replica")
				}
				// What a failed cluster answers a key command is an outage
				// to the breaker, unlike a command's own error.
				var live *testredis.Server
				for _, s := range rc.Nodes {
					if s.Running() {
						live = s
						break
					}
				}
				direct := redis.NewClient(&redis.Options{Addr: live.Addr})
				defer direct.Close()
				if err := direct.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "CLUSTERDOWN") || !failure(ctx, err) {
					t.Fatalf("a failed cluster's answer %v: not taken for an outage", err)
				}
				if err := direct.Do(ctx, "NO-SUCH-COMMAND").Err(); err == nil || failure(ctx, err) {
					t.Fatalf("a command error %v taken for an outage", err)
				}
				if ok, detail := g.Status(); ok || detail == "" {
					t.Fatalf("status %v %q with a master dead", ok, detail)
				}
				m.Restart()
			}
			select {
			case up := <-ev.ch:
				if !up {
					t.Fatal("told down again")
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("no recovery event (status %v)", fmt.Sprint(g.Status()))
			}
			// shared again, across instances (the other one finds the
			// cluster whole through its own probe). A fresh key per try: a
			// call that a loaded machine delays past the timeout opens that
			// instance's breaker until its next probe.
			tries := 0
			waitfor.True(t, 30*time.Second, "both instances sharing one budget again", func() bool {
				tries++
				key := fmt.Sprintf("ip:after-%d", tries)
				d1, err1 := l.Allow(ctx, key)
				d2, err2 := other.Allow(ctx, key)
				return err1 == nil && err2 == nil && d1.Remaining == 999 && d2.Remaining == 998
			})
			t.Logf("shared again after %d tries", tries)
			if value(g.changes.WithLabelValues("down")) < 1 || value(g.changes.WithLabelValues("up")) < 1 || value(g.upGauge) != 1 {
				t.Fatalf("state change metrics: down %v, up %v, redis_up %v",
					value(g.changes.WithLabelValues("down")), value(g.changes.WithLabelValues("up")), value(g.upGauge))
			}
		})
	}
}
