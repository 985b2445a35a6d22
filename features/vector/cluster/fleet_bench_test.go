package cluster

// BenchmarkFleetRedis: how far one Redis carries a fleet, and the same on a
// three-master Redis Cluster. Both are real (internal/testkit/testredis: Debian's
// redis-server on loopback; the cluster made by redis-cli). DEPLOY.md
// ("How far one Redis carries") quotes it; run it alone, once per step:
//
//	go test ./features/vector/cluster -run '^$' -bench FleetRedis -benchtime 1x -timeout 20m
//
// For each backend:
//   - unit: the cost of one limiter decision, one latency publication and
//     one scope=cluster read (Redis commands and bytes in + out, read from
//     INFO commandstats / total_net_*_bytes before and after), and the
//     memory of one client budget and one replica's payload (used_memory).
//   - replicas=N: N simulated replicas, each with its own client, its own
//     id, its own publisher (the real one, every 2 s, a real latency
//     window of 20 routes) and limiter decisions at a fixed rate
//     (fleetRate each, over 1000 client keys) and the breaker's probe
//     (every second), for fleetStep. Reported: limiter p50/p99, achieved
//     requests/s, failed calls, Redis commands and bytes per request and
//     per replica per second, Redis CPU and memory. It logs the first N
//     whose p99 passes 1 ms, and stops when the load generator cannot keep
//     the rate (or more than 1% of the calls fail).
//
// The load generator runs on the same machine as Redis: on a shared or
// small machine the client side saturates first, and the latency says so.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/advanced-backend/advanced-backend/features/vector/redisstate"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
)

const (
	fleetRate      = 50 // limiter decisions per second per replica
	fleetStep      = 3 * time.Second
	fleetInterval  = 2 * time.Second // CLUSTER_PUBLISH_INTERVAL's default
	fleetClients   = 1000            // distinct client keys
	fleetThreshold = time.Millisecond
)

var fleetLadder = []int{10, 25, 50, 100, 200, 400, 800, 1000}

// redisStats are the counters summed over the backend's masters.
type redisStats struct {
	calls        int64 // commands Redis executed, those a script runs included
	limiterCalls int64 // EVALSHA/EVAL: one per limiter decision
	limiterUsec  int64 // Redis's time in them (the script's commands included)
	in, out      int64 // bytes received and sent
	mem, clients int64
	cpu          float64 // seconds of Redis CPU (user + sys)
}

func (a redisStats) minus(b redisStats) redisStats {
	return redisStats{calls: a.calls - b.calls, limiterCalls: a.limiterCalls - b.limiterCalls, limiterUsec: a.limiterUsec - b.limiterUsec,
		in: a.in - b.in, out: a.out - b.out, mem: a.mem - b.mem, clients: a.clients, cpu: a.cpu - b.cpu}
}

// sent counts the commands a client sends (pipelined ones one by one): the
// service's side of "Redis operations", where commandstats also counts
// what a script runs inside Redis.
type sent struct{ n atomic.Int64 }

func (c *sent) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *sent) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *sent) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// backend is one Redis or one cluster, with a plain client per master for
// INFO.
type backend struct {
	name    string
	url     string
	masters []*redis.Client
}

func (be *backend) stats(b *testing.B) redisStats {
	b.Helper()
	var s redisStats
	for _, m := range be.masters {
		txt, err := m.Info(context.Background(), "commandstats", "stats", "memory", "cpu", "clients").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(txt, "\r\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch {
			case strings.HasPrefix(k, "cmdstat_"):
				if k == "cmdstat_info" {
					continue // ours
				}
				calls, rest, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
				n, _ := strconv.ParseInt(calls, 10, 64)
				usec, _, _ := strings.Cut(strings.TrimPrefix(rest, "usec="), ",")
				u, _ := strconv.ParseInt(usec, 10, 64)
				s.calls += n
				if k == "cmdstat_evalsha" || k == "cmdstat_eval" {
					s.limiterCalls += n
					s.limiterUsec += u
				}
			case k == "total_net_input_bytes":
				n, _ := strconv.ParseInt(v, 10, 64)
				s.in += n
			case k == "total_net_output_bytes":
				n, _ := strconv.ParseInt(v, 10, 64)
				s.out += n
			case k == "used_memory":
				n, _ := strconv.ParseInt(v, 10, 64)
				s.mem += n
			case k == "connected_clients":
				n, _ := strconv.ParseInt(v, 10, 64)
				s.clients += n
			case k == "used_cpu_sys" || k == "used_cpu_user":
				f, _ := strconv.ParseFloat(v, 64)
				s.cpu += f
			}
		}
	}
	return s
}

// payload is a real latency window: 20 routes, 2000 samples each.
func fleetPayload(b *testing.B) []byte {
	b.Helper()
	eng, err := latency.New(latency.Options{Estimator: latency.Select(100, 2048), FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	var routes []latency.Route
	for i := 0; i < 20; i++ {
		routes = append(routes, latency.Route{Method: "GET", Path: fmt.Sprintf("/api/v2/route%d", i)})
	}
	if err := eng.SetRoutes(routes); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, rt := range routes {
		id := eng.Resolve(rt.Method, rt.Path)
		for j := 0; j < 2000; j++ {
			if j%100 == 99 {
				eng.Flush() // the shard buffers hold less than a route's samples
			}
			if err := eng.Record(id, 200, r.ExpFloat64()*5); err != nil {
				b.Fatal(err)
			}
		}
	}
	p, err := eng.ExportCluster(256 << 10)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// fixed is a member whose window is a fixed payload.
type fixed struct {
	id   string
	data []byte
}

func (f fixed) ReplicaID() string                 { return f.id }
func (f fixed) ExportLatency(int) ([]byte, error) { return f.data, nil }
func (f fixed) ResetLatency()                     {}

func guardFor(b *testing.B, url string, counter *sent) *redisstate.Guard {
	b.Helper()
	// a generous timeout: the benchmark measures latency, the breaker must
	// not open under the load it makes
	g, err := redisstate.New(redisstate.Options{URL: url, Timeout: 5 * time.Second, RetryInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	g.Client().AddHook(counter)
	return g
}

func BenchmarkFleetRedis(b *testing.B) {
	payload := fleetPayload(b)
	b.Logf("latency window payload: %d bytes (20 routes x 2000 samples, t-digest)", len(payload))
	for _, kind := range []string{"single", "cluster"} {
		b.Run(kind, func(b *testing.B) {
			be := &backend{name: kind}
			if kind == "single" {
				rs := testredis.Start(b)
				be.url = rs.URL
				be.masters = []*redis.Client{redis.NewClient(&redis.Options{Addr: rs.Addr})}
			} else {
				rc := testredis.StartCluster(b, 3, 0)
				be.url = rc.URL
				for _, s := range rc.Nodes[:rc.Masters] {
					be.masters = append(be.masters, redis.NewClient(&redis.Options{Addr: s.Addr}))
				}
			}
			for _, m := range be.masters {
				defer m.Close()
			}
			b.Run("unit", func(b *testing.B) { fleetUnit(b, be, payload) })
			crossed := 0
			for _, n := range fleetLadder {
				var p99 time.Duration
				var saturated bool
				b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) { p99, saturated = fleetStepRun(b, be, payload, n) })
				if p99 > fleetThreshold && crossed == 0 {
					crossed = n
					b.Logf("%s: the limiter's p99 passes %s at %d replicas (%s)", kind, fleetThreshold, n, p99)
				}
				if saturated {
					b.Logf("%s: at %d replicas the load generator fell below 80%% of the rate: the ladder stops", kind, n)
					break
				}
			}
			if crossed == 0 {
				b.Logf("%s: the limiter's p99 stayed under %s on every step", kind, fleetThreshold)
			}
		})
	}
}

// fleetUnit measures the cost of each kind of call on an idle backend.
func fleetUnit(b *testing.B, be *backend, payload []byte) {
	ctx := context.Background()
	var cnt sent
	g := guardFor(b, be.url, &cnt)
	l := redisstate.NewLimiter(g, 1e6, 1_000_000)
	if _, err := l.Allow(ctx, "ip:warm"); err != nil { // loads the script, dials
		b.Fatal(err)
	}
	const keys, calls = 2000, 4000
	s0, c0 := be.stats(b), cnt.n.Load()
	for i := 0; i < calls; i++ {
		if _, err := l.Allow(ctx, fmt.Sprintf("ip:unit-%d", i%keys)); err != nil {
			b.Fatal(err)
		}
	}
	d := be.stats(b).minus(s0)
	b.ReportMetric(float64(cnt.n.Load()-c0)/calls, "limiter-sent/call")
	b.ReportMetric(float64(d.calls)/calls, "limiter-redis-cmds/call")
	b.ReportMetric(float64(d.in+d.out)/calls, "limiter-B/call")
	b.ReportMetric(float64(d.limiterUsec)/float64(d.limiterCalls), "limiter-redis-µs/call")
	b.ReportMetric(d.cpu*1e6/calls, "limiter-cpu-µs/call")
	b.ReportMetric(float64(d.mem)/keys, "mem-B/client-key")

	const reps = 50
	var cs []*Cluster
	for i := 0; i < reps; i++ {
		c, err := New(Options{Guard: g, Member: fixed{fmt.Sprintf("unit-r%03d", i), payload}, Interval: fleetInterval, TTL: 3 * fleetInterval, MaxBytes: 256 << 10})
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
	}
	s0, c0 = be.stats(b), cnt.n.Load()
	for _, c := range cs {
		if err := c.PublishOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	d = be.stats(b).minus(s0)
	b.ReportMetric(float64(cnt.n.Load()-c0)/reps, "publish-sent/pub")
	b.ReportMetric(float64(d.in+d.out)/reps, "publish-B/pub")
	b.ReportMetric(d.cpu*1e6/reps, "publish-cpu-µs/pub")
	b.ReportMetric(float64(d.mem)/reps, "mem-B/replica")

	s0, c0 = be.stats(b), cnt.n.Load()
	got, err := cs[0].Replicas(ctx)
	if err != nil || len(got) != reps {
		b.Fatalf("read %d replicas: %v", len(got), err)
	}
	d = be.stats(b).minus(s0)
	b.ReportMetric(float64(cnt.n.Load()-c0), "read50-sent")
	b.ReportMetric(float64(d.in+d.out), "read50-B")
}

// fleetStepRun runs n replicas for fleetStep and reports; it returns the
// limiter's p99 and whether the generator fell short of the rate.
func fleetStepRun(b *testing.B, be *backend, payload []byte, n int) (time.Duration, bool) {
	type replica struct {
		g   *redisstate.Guard
		l   *redisstate.Limiter
		c   *Cluster
		lat []time.Duration
	}
	reps := make([]*replica, n)
	var cnt sent
	for i := range reps {
		g := guardFor(b, be.url, &cnt)
		c, err := New(Options{Guard: g, Member: fixed{fmt.Sprintf("r%04d", i), payload}, Interval: fleetInterval, TTL: 3 * fleetInterval, MaxBytes: 256 << 10})
		if err != nil {
			b.Fatal(err)
		}
		reps[i] = &replica{g: g, l: redisstate.NewLimiter(g, 1e6, 1_000_000), c: c,
			lat: make([]time.Duration, 0, int(fleetStep.Seconds()*fleetRate)+2)}
		if _, err := reps[i].l.Allow(context.Background(), "ip:warm"); err != nil { // dial before the clock starts
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), fleetStep)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	s0, c0 := be.stats(b), cnt.n.Load()
	start := time.Now()
	for i, r := range reps {
		wg.Add(3)
		go func() { defer wg.Done(); r.g.Run(ctx) }() // the breaker's probe, as in a replica
		go func() {
			defer wg.Done()
			// replicas publish out of step, as a fleet started over time does
			first := time.NewTimer(rand.N(fleetInterval))
			defer first.Stop()
			select {
			case <-ctx.Done():
				return
			case <-first.C:
			}
			r.c.Run(ctx)
		}()
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 7))
			// spread the replicas' phases so their ticks do not coincide
			first := time.NewTimer(time.Duration(rnd.Int64N(int64(time.Second / fleetRate))))
			select {
			case <-ctx.Done():
				first.Stop()
				return
			case <-first.C:
			}
			tick := time.NewTicker(time.Second / fleetRate)
			defer tick.Stop()
			for {
				key := "ip:client-" + strconv.Itoa(rnd.IntN(fleetClients))
				t0 := time.Now()
				_, err := r.l.Allow(context.Background(), key)
				r.lat = append(r.lat, time.Since(t0))
				if err != nil {
					failed.Add(1) // over the timeout, or refused by the breaker it opened
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	d, sentN := be.stats(b).minus(s0), cnt.n.Load()-c0

	var all []time.Duration
	for _, r := range reps {
		all = append(all, r.lat...)
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	reqs := float64(len(all))
	secs := took.Seconds()
	achieved := reqs / secs
	b.ReportMetric(float64(q(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(q(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(achieved, "req/s")
	b.ReportMetric(float64(sentN)/reqs, "sent/req")
	b.ReportMetric(float64(d.calls)/reqs, "redis-cmds/req")
	b.ReportMetric(float64(d.in+d.out)/reqs, "redis-B/req")
	b.ReportMetric(float64(sentN)/secs/float64(n), "sent/replica/s")
	b.ReportMetric(float64(d.in+d.out)/secs/float64(n), "redis-B/replica/s")
	b.ReportMetric(100*d.cpu/secs, "redis-cpu-%")
	b.ReportMetric(float64(d.limiterUsec)/float64(max(d.limiterCalls, 1)), "limiter-redis-µs/call")
	b.ReportMetric(float64(d.clients), "redis-conns")
	b.ReportMetric(float64(s0.mem+d.mem)/(1<<20), "redis-mem-MB")
	b.ReportMetric(float64(failed.Load()), "failed-calls")
	saturated := achieved < 0.8*float64(n*fleetRate) || float64(failed.Load()) > reqs/100
	return q(0.99), saturated
}
