package e2e

// A fleet on a Redis Cluster: three real prodapi replicas whose REDIS_URL
// names the seed nodes of a real Redis Cluster (internal/testkit/testredis
// StartCluster: three masters with one replica each, Debian's redis-server
// on loopback ports). Clients are told apart by their loopback source
// address (127.0.0.x), so each check has a budget of its own. Nothing is
// timed: every wait polls a condition with a bound.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
)

// clientFrom is an HTTP client whose connections come from ip (any
// 127.0.0.0/8 address is loopback on Linux), so the limiter sees another
// client.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// fleetBurst sends n GET /ml-capabilities from ip, round robin over the
// replicas, and returns the statuses and how long the burst took.
func fleetBurst(t *testing.T, reps []*proc, ip string, n int) (map[int]int, time.Duration) {
	t.Helper()
	hc := clientFrom(ip)
	defer hc.CloseIdleConnections()
	got := map[int]int{}
	start := time.Now()
	for i := 0; i < n; i++ {
		resp, err := hc.Get(reps[i%len(reps)].Base + "/ml-capabilities")
		if err != nil {
			t.Fatalf("burst from %s: %v", ip, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got[resp.StatusCode]++
	}
	return got, time.Since(start)
}

// fleetRPS and fleetBurstSize are the replicas' limit: a burst of 20, then
// one request a second (so a poll that meets a 429 is answered again soon).
const (
	fleetRPS       = 1
	fleetBurstSize = 20
)

// assertShared checks a burst of 60 drew on one budget: the burst plus
// what refilled while it ran (three local budgets would allow 60).
func assertShared(t *testing.T, reps []*proc, ip string) {
	t.Helper()
	got, took := fleetBurst(t, reps, ip, 60)
	most := fleetBurstSize + int(took.Seconds()*fleetRPS) + 1
	if got[200] < fleetBurstSize || got[200] > most || got[200]+got[429] != 60 {
		t.Fatalf("burst of 60 from %s over 3 replicas in %s: %v; want %d..%d allowed (one shared budget), the rest 429",
			ip, took.Round(time.Millisecond), got, fleetBurstSize, most)
	}
	t.Logf("shared budget from %s: %v in %s", ip, got, took.Round(time.Millisecond))
}

// coreLoad requests core routes from its own address at a fixed pace
// until stopped, counting 5xx answers and connection errors.
type coreLoad struct {
	mu       sync.Mutex
	statuses map[int]int
	errs     []string
	stop     context.CancelFunc
	done     chan struct{}
}

func startCoreLoad(reps []*proc, ip string) *coreLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &coreLoad{statuses: map[int]int{}, stop: cancel, done: make(chan struct{})}
	hc := clientFrom(ip)
	paths := []string{"/health", "/api/v2/latency/quantiles", "/ml-capabilities", "/__phase", "/api/v2/latency/distribution", "/metrics"}
	go func() {
		defer close(l.done)
		defer hc.CloseIdleConnections()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 20_000; i++ { // bounded: 200 s at this pace
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			url := reps[i%len(reps)].Base + paths[i%len(paths)]
			resp, err := hc.Get(url)
			l.mu.Lock()
			if err != nil {
				l.errs = append(l.errs, err.Error())
			} else {
				l.statuses[resp.StatusCode]++
			}
			l.mu.Unlock()
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	return l
}

// end stops the load and fails the test on any 5xx or connection error.
func (l *coreLoad) end(t *testing.T) {
	t.Helper()
	l.stop()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	fiveXX := 0
	for code, n := range l.statuses {
		if code >= 500 {
			fiveXX += n
		}
	}
	t.Logf("core routes during the faults: %v, %d connection errors", l.statuses, len(l.errs))
	if fiveXX != 0 || len(l.errs) != 0 {
		t.Errorf("%d 5xx answers and %d connection errors on core routes (first: %v)", fiveXX, len(l.errs), l.errs[:min(3, len(l.errs))])
	}
}

// redisUp is each replica's advanced_backend_redis_up.
func redisUp(t *testing.T, reps []*proc) []float64 {
	var out []float64
	for _, p := range reps {
		out = append(out, metricValue(t, p, "advanced_backend_redis_up"))
	}
	return out
}

func atLeast(vs []float64, least float64) bool { return slices.Min(vs) >= least }

func TestRedisClusterFleet(t *testing.T) {
	const password = "rc-pass-SECRET"
	rc := testredis.StartClusterAuth(t, 3, 1, password)
	bin := buildVariant(t, "prodapi")
	reps := startReplicas(t, bin, rc.URL, 3,
		fmt.Sprintf("RATE_LIMIT_RPS=%d", fleetRPS), fmt.Sprintf("RATE_LIMIT_BURST=%d", fleetBurstSize))
	var h map[string]any
	reps[0].get(t, "GET", "/health", &h)
	if h["rate_limit"] != "shared (local fallback)" {
		t.Fatalf("rate_limit %v: the Redis limiter is not in use with a cluster REDIS_URL", h["rate_limit"])
	}

	// Shared limits hold across the replicas.
	assertShared(t, reps, "127.0.0.2")

	// scope=cluster merges every replica: the cluster count of GET /health
	// equals the sum of the replicas' own counts.
	for i := 0; i < 30; i++ {
		if code, _ := call(t, "GET", reps[i%3].Base+"/health", ""); code != 200 {
			t.Fatalf("/health: %d", code)
		}
	}
	const healthRoute = "GET /health"
	var sum float64
	for _, p := range reps {
		poll(t, 10*time.Second, "a local count", func() (bool, string) {
			var q struct {
				Routes map[string]map[string]any `json:"routes"`
			}
			code := p.get(t, "GET", "/api/v2/latency/quantiles?route="+urlq(healthRoute), &q)
			c, ok := q.Routes[healthRoute]["count"].(float64)
			if code == 200 && ok {
				sum += c
			}
			return code == 200 && ok, fmt.Sprint(code)
		})
	}
	var cr clusterReport
	poll(t, 20*time.Second, "the cluster view of all three replicas", func() (bool, string) {
		code := reps[0].get(t, "GET", "/api/v2/latency/quantiles?scope=cluster&route="+urlq(healthRoute), &cr)
		c, _ := cr.Routes[healthRoute]["count"].(float64)
		return code == 200 && c == sum && slices.Equal(cr.ids(), []string{"r1", "r2", "r3"}),
			fmt.Sprintf("%d replicas %v count %v of %v", code, cr.ids(), c, sum)
	})

	load := startCoreLoad(reps, "127.0.0.3")

	// A master dies; its replica takes over. The replicas fall back to
	// local limits, then find the cluster whole again by themselves.
	m := rc.MasterFor("any-key")
	promoted := rc.ReplicaOf(m)
	if promoted == nil {
		t.Fatalf("master %s has no replica", m.Addr)
	}
	m.Kill()
	poll(t, 60*time.Second, "every replica back on the cluster after the failover", func() (bool, string) {
		var downs []float64
		for _, p := range reps {
			downs = append(downs, metricValue(t, p, `advanced_backend_redis_state_changes_total{to="up"}`))
		}
		up := redisUp(t, reps)
		return atLeast(downs, 1) && atLeast(up, 1), fmt.Sprintf("recoveries %v, redis_up %v", downs, up)
	})
	assertShared(t, reps, "127.0.0.4")

	// Now the promoted master dies too, with no replica left: its slots
	// stay dead, the replicas keep local limits until it returns.
	promoted.Kill()
	poll(t, 30*time.Second, "every replica on local limits", func() (bool, string) {
		up := redisUp(t, reps)
		return slices.Max(up) == 0, fmt.Sprintf("redis_up %v", up)
	})
	got, _ := fleetBurst(t, reps, "127.0.0.5", 60)
	if got[200] <= fleetBurstSize+1 || got[200]+got[429] != 60 {
		t.Fatalf("with a master lost: %v; want local buckets (up to %d per replica), no 5xx", got, fleetBurstSize)
	}
	t.Logf("local budgets with a master lost: %v", got)
	for _, p := range reps {
		var e map[string]any
		if code := p.get(t, "GET", "/api/v2/latency/quantiles?scope=cluster", &e); code != 503 && code != 429 {
			t.Fatalf("scope=cluster with a master lost: %d %v", code, e)
		}
	}
	promoted.Restart()
	poll(t, 60*time.Second, "every replica back on the cluster after the master returned", func() (bool, string) {
		up := redisUp(t, reps)
		return atLeast(up, 1), fmt.Sprintf("redis_up %v", up)
	})
	load.end(t)
	assertShared(t, reps, "127.0.0.6")
	poll(t, 20*time.Second, "the cluster view again", func() (bool, string) {
		code := reps[1].get(t, "GET", "/api/v2/latency/quantiles?scope=cluster", &cr)
		return code == 200 && slices.Equal(cr.ids(), []string{"r1", "r2", "r3"}), fmt.Sprintf("%d %v", code, cr.ids())
	})

	// The cluster is named (its nodes), its password nowhere: not in the
	// answers, not in the logs of the failures above.
	named := false
	for _, p := range reps {
		for _, path := range []string{"/ml-capabilities", "/__phase", "/health", "/ready", "/startup/heartbeat?n=200", "/metrics"} {
			code, b := call(t, "GET", p.Base+path, "")
			if code == 429 {
				continue
			}
			if strings.Contains(string(b), password) {
				t.Errorf("%s%s shows the cluster's password: %.300s", p.Base, path, b)
			}
			named = named || strings.Contains(string(b), "redis cluster 127.0.0.1:")
		}
		if logs := p.Logs(); strings.Contains(logs, password) {
			t.Errorf("the logs show the cluster's password")
		}
	}
	if !named {
		t.Error("no answer names the Redis cluster (redis cluster host:port,...)")
	}
}
