package e2e

// Cluster mode end to end: three real prodapi replicas on loopback ports,
// one real redis-server (internal/testkit/testredis) and Debian's nginx as the load
// balancer in front of them (a generated configuration in a temp dir, a
// random loopback port, run in the foreground). Nothing is timed: every
// wait polls a condition with a bound (internal/waitfor).

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

var httpc = &http.Client{Timeout: 10 * time.Second}

// call sends one request and returns the status and body.
func call(t testing.TB, method, url, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func callJSON(t testing.TB, method, url, body string, v any) int {
	t.Helper()
	code, b := call(t, method, url, body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, url, code, b)
		}
	}
	return code
}

// poll waits (waitfor) until cond holds; it fails the test with the last
// state after the deadline.
func poll(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var state string
	if _, err := waitfor.Poll(within, func() (struct{}, bool) {
		var ok bool
		ok, state = cond()
		return struct{}{}, ok
	}); err != nil {
		t.Fatalf("%s: %v; last: %s", what, err, state)
	}
}

// lb is nginx in front of some replicas.
type lb struct {
	Base string
	cmd  *exec.Cmd
	dir  string
	done chan error
}

// startNginx runs nginx in the foreground with the repository's own
// configuration (deploy/nginx/advanced-backend.conf, see nginxConf): a
// random loopback port, round-robin over the given bases, passive health
// checks (a refused connection sends the request to the next replica), all
// paths in a temp dir.
func startNginx(t testing.TB, upstreams ...string) *lb {
	t.Helper()
	nginxBin := fleetTool(t, "nginx")
	dir := t.TempDir()
	port := freePort(t)
	site := filepath.Join(dir, "advanced-backend.conf")
	if err := os.WriteFile(site, []byte(nginxConf(t, fmt.Sprintf("127.0.0.1:%d", port), upstreams...)), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  include %[2]s;
}
`, dir, site)
	cfg := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &lb{Base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, done: make(chan error, 1)}
	n.cmd = exec.Command(nginxBin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", cfg, "-g", "daemon off;")
	var out bytes.Buffer
	n.cmd.Stdout, n.cmd.Stderr = &out, &out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	go func() { n.done <- n.cmd.Wait() }()
	t.Cleanup(n.stop)
	waitfor.True(t, 10*time.Second, fmt.Sprintf("nginx on port %d to answer /health", port), func() bool {
		select {
		case err := <-n.done:
			n.done <- err
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), log)
		default:
		}
		resp, err := httpc.Get(n.Base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return n
}

// stop asks nginx to quit (SIGQUIT: graceful) and waits, bounded.
func (n *lb) stop() {
	if n.cmd.ProcessState != nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case err := <-n.done:
		n.done <- err
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// kill stops a replica at once (a crash: no deregistration).
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

type clusterReport struct {
	Scope    string                    `json:"scope"`
	Overall  map[string]any            `json:"overall"`
	Routes   map[string]map[string]any `json:"routes"`
	Replicas []struct {
		ID         string  `json:"id"`
		AgeSeconds float64 `json:"age_seconds"`
		Count      uint64  `json:"count"`
	} `json:"replicas"`
	Skipped []map[string]string `json:"skipped"`
}

func (r clusterReport) ids() []string {
	var out []string
	for _, x := range r.Replicas {
		out = append(out, x.ID)
	}
	slices.Sort(out)
	return out
}

type distReport struct {
	BucketEdgesMS []float64 `json:"bucket_edges_ms"`
	Routes        map[string]struct {
		Count   uint64   `json:"count"`
		Buckets []uint64 `json:"buckets"`
	} `json:"routes"`
}

const searchRoute = "POST /api/v2/vector/collections/:name/search"

var clusterEnv = []string{
	"CLUSTER_PUBLISH_INTERVAL=200ms", "CLUSTER_TTL=1s",
	// a loaded test machine must not look like a dead Redis
	"REDIS_TIMEOUT=2s", "REDIS_RETRY_INTERVAL=100ms",
}

func startReplicas(t testing.TB, bin, redisURL string, n int, env ...string) []*proc {
	t.Helper()
	var out []*proc
	for i := 1; i <= n; i++ {
		e := append([]string{"REDIS_URL=" + redisURL, fmt.Sprintf("REPLICA_ID=r%d", i)}, clusterEnv...)
		out = append(out, startBinary(t, bin, append(e, env...)...))
	}
	return out
}

func bases(ps []*proc) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Base)
	}
	return out
}

// bracket returns the share of values in buckets strictly below v's bucket
// and up to and including it: the exact rank of v lies between the two.
func bracket(edges []float64, buckets []uint64, v float64) (lo, hi float64) {
	var total, below, upto uint64
	b := len(edges) // v above the last edge
	for i, e := range edges {
		if v <= e {
			b = i
			break
		}
	}
	for i, n := range buckets {
		total += n
		if i < b {
			below += n
		}
		if i <= b {
			upto += n
		}
	}
	return float64(below) / float64(total), float64(upto) / float64(total)
}

// gridQs are the extra quantiles asked of each replica's local view (with
// p50/p90/p95/p99 they give each replica's quantile function at 20 points).
const gridQs = "0.01,0.05,0.1,0.2,0.3,0.4,0.6,0.7,0.8,0.85,0.925,0.97,0.98,0.995,0.999,0.9999"

// localGrid is one replica's quantile function at the grid points.
type localGrid struct {
	n   float64
	pts [][2]float64 // (q, value), q ascending
}

func gridOf(st map[string]any) localGrid {
	g := localGrid{}
	g.n, _ = st["count"].(float64)
	for k, v := range st {
		f, ok := v.(float64)
		if !ok || !strings.HasPrefix(k, "p") {
			continue
		}
		var pct float64
		if _, err := fmt.Sscanf(k[1:], "%g", &pct); err != nil {
			continue
		}
		g.pts = append(g.pts, [2]float64{pct / 100, f})
	}
	slices.SortFunc(g.pts, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	return g
}

// mixtureRank brackets the rank of v in the union of the replicas' data
// from each replica's own quantiles: replica i has a share of its values
// at or below v between the last grid q whose value is below v and the
// first whose value is at or above it.
func mixtureRank(grids []localGrid, v float64) (lo, hi float64) {
	var total float64
	for _, g := range grids {
		l, h := 0.0, 1.0
		for _, p := range g.pts {
			if p[1] < v {
				l = p[0]
			}
			if p[1] >= v {
				h = p[0]
				break
			}
		}
		lo += g.n * l
		hi += g.n * h
		total += g.n
	}
	return lo / total, hi / total
}

func TestClusterBehindNginx(t *testing.T) {
	bin := buildVariant(t, "prodapi")
	rs := testredis.Start(t)
	reps := startReplicas(t, bin, rs.URL, 3, "SAFE_MODE=1")
	n := startNginx(t, bases(reps)...)

	var h map[string]any
	for i, p := range reps {
		p.get(t, "GET", "/health", &h)
		if h["replica_id"] != fmt.Sprintf("r%d", i+1) {
			t.Fatalf("replica %d: /health replica_id %v", i+1, h["replica_id"])
		}
	}

	// Known requests. r3 alone holds three collections (300, 2000 and 8000
	// vectors), so a search takes from a fraction of a millisecond to
	// milliseconds there while r1 and r2 answer 404 at once: the cluster
	// distribution is multimodal and no replica alone has its quantiles.
	const dim = 64
	r := rand.New(rand.NewPCG(1, 2))
	vec := func() string {
		parts := make([]string, dim)
		for i := range parts {
			parts[i] = fmt.Sprintf("%.4f", r.Float64()-0.5)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	colls := map[string]int{"s": 300, "m": 2000, "l": 8000}
	for name, size := range colls {
		if code, b := call(t, "PUT", reps[2].Base+"/api/v2/vector/collections/"+name, `{"size":64,"distance":"cosine"}`); code != 201 {
			t.Fatalf("create collection: %d %s", code, b)
		}
		for done := 0; done < size; done += 1000 {
			var pts []string
			for i := done; i < min(done+1000, size); i++ {
				pts = append(pts, fmt.Sprintf(`{"id":%d,"vector":%s}`, i+1, vec()))
			}
			if code, b := call(t, "POST", reps[2].Base+"/api/v2/vector/collections/"+name+"/points", `{"points":[`+strings.Join(pts, ",")+`]}`); code != 200 {
				t.Fatalf("upsert: %d %.300s", code, b)
			}
		}
	}
	const searches, healths = 300, 300
	statuses := map[int]int{}
	names := []string{"s", "m", "l"}
	for i := 0; i < searches; i++ {
		code, _ := call(t, "POST", n.Base+"/api/v2/vector/collections/"+names[r.IntN(3)]+"/search", `{"vector":`+vec()+`,"limit":5}`)
		statuses[code]++
	}
	for i := 0; i < healths; i++ {
		code, _ := call(t, "GET", n.Base+"/health", "")
		statuses[code]++
	}
	if statuses[200] < searches/3+healths || statuses[404] == 0 || statuses[200]+statuses[404] != searches+healths {
		t.Fatalf("statuses through nginx: %v (want 200s from r3's searches and /health, 404s from r1/r2)", statuses)
	}

	// The replicas' own views: exact counts and buckets of what each served.
	var localCount uint64
	var edges []float64
	sum := make([]uint64, 17)
	var grids []localGrid
	for i, p := range reps {
		var lq struct {
			Routes map[string]map[string]any `json:"routes"`
		}
		if code := p.get(t, "GET", "/api/v2/latency/quantiles?route="+urlq(searchRoute)+"&q="+gridQs, &lq); code != 200 {
			t.Fatalf("r%d local quantiles: %d", i+1, code)
		}
		grids = append(grids, gridOf(lq.Routes[searchRoute]))
		var d distReport
		if code := p.get(t, "GET", "/api/v2/latency/distribution?route="+urlq(searchRoute), &d); code != 200 {
			t.Fatalf("r%d local distribution: %d", i+1, code)
		}
		rd := d.Routes[searchRoute]
		if rd.Count == 0 {
			t.Fatalf("r%d served no search: nginx did not spread the load", i+1)
		}
		localCount += rd.Count
		edges = d.BucketEdgesMS
		for j, c := range rd.Buckets {
			sum[j] += c
		}
	}
	if localCount != searches {
		t.Fatalf("replicas recorded %d searches, %d were sent", localCount, searches)
	}

	// The cluster view on any replica converges on the sum.
	var cr clusterReport
	poll(t, 20*time.Second, "cluster view of all three replicas", func() (bool, string) {
		code := reps[0].get(t, "GET", "/api/v2/latency/quantiles?scope=cluster&route="+urlq(searchRoute), &cr)
		c, _ := cr.Routes[searchRoute]["count"].(float64)
		return code == 200 && uint64(c) == searches && slices.Equal(cr.ids(), []string{"r1", "r2", "r3"}),
			fmt.Sprintf("%d replicas %v count %v skipped %v", code, cr.ids(), c, cr.Skipped)
	})
	for i, p := range reps {
		t.Logf("r%d: last publication %g bytes, %g publications", i+1,
			metricValue(t, p, "advanced_backend_cluster_publish_bytes"), metricValue(t, p, `advanced_backend_cluster_publish_total{result="ok"}`))
	}
	for _, x := range cr.Replicas {
		if x.AgeSeconds < 0 || x.AgeSeconds > 1 {
			t.Errorf("replica %s: age %gs outside [0, ttl 1s]", x.ID, x.AgeSeconds)
		}
	}
	// The cluster quantiles agree with the exact distribution of all the
	// searches the replicas recorded: the exact rank of each cluster
	// quantile, bracketed by the replicas' exact bucket counts, is within
	// the t-digest's rank error (1/(2 x compression) = 0.5%) plus one
	// sample of q.
	st := cr.Routes[searchRoute]
	eps := 0.005 + 1.0/searches
	for _, q := range []string{"p50", "p90", "p95", "p99"} {
		v, ok := st[q].(float64)
		if !ok {
			t.Fatalf("%s missing: %v", q, st)
		}
		qv := map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}[q]
		lo, hi := bracket(edges, sum, v)
		glo, ghi := mixtureRank(grids, v)
		t.Logf("cluster %s = %.4f ms: exact rank within [%.4f, %.4f] by the buckets, [%.4f, %.4f] by the replicas' quantiles", q, v, lo, hi, glo, ghi)
		if lo > qv+eps || hi < qv-eps {
			t.Errorf("cluster %s = %g ms has an exact rank in [%.4f, %.4f] by the buckets, not near %.2f", q, v, lo, hi, qv)
		}
		if glo > qv+eps || ghi < qv-eps {
			t.Errorf("cluster %s = %g ms has a rank in [%.4f, %.4f] by the replicas' own quantiles, not near %.2f", q, v, glo, ghi, qv)
		}
	}
	var cd distReport
	if code := reps[1].get(t, "GET", "/api/v2/latency/distribution?scope=cluster&route="+urlq(searchRoute), &cd); code != 200 ||
		!slices.Equal(cd.Routes[searchRoute].Buckets, sum) {
		t.Fatalf("cluster distribution %d: buckets %v, replicas' sum %v", code, cd.Routes[searchRoute].Buckets, sum)
	}

	// A cluster-wide reset through nginx reaches every replica.
	var rr map[string]any
	if code := callJSON(t, "POST", n.Base+"/admin/adaptive/reset?scope=cluster", "", &rr); code != 200 || rr["replicas_told"] != 3.0 {
		t.Fatalf("cluster reset: %d %v", code, rr)
	}
	for i, p := range reps {
		poll(t, 10*time.Second, fmt.Sprintf("r%d applies the reset", i+1), func() (bool, string) {
			var q map[string]any
			p.get(t, "GET", "/api/v2/latency/quantiles", &q)
			routes, _ := q["routes"].(map[string]any)
			_, has := routes[searchRoute]
			return !has, fmt.Sprintf("%v", routes[searchRoute])
		})
	}

	// Kill r3: it leaves the cluster view after its TTL; the others serve.
	reps[2].kill()
	for i := 0; i < 30; i++ {
		if code, _ := call(t, "GET", n.Base+"/health", ""); code != 200 {
			t.Fatalf("/health through nginx with r3 dead: %d", code)
		}
	}
	poll(t, 15*time.Second, "r3 leaves the cluster view", func() (bool, string) {
		code := reps[0].get(t, "GET", "/api/v2/latency/quantiles?scope=cluster", &cr)
		return code == 200 && slices.Equal(cr.ids(), []string{"r1", "r2"}), fmt.Sprintf("%d %v", code, cr.ids())
	})

	// Stop Redis: local scope and core routes keep working, cluster scope is 503.
	rs.Kill()
	fiveXX := 0
	for i := 0; i < 40; i++ {
		for _, path := range []string{"/health", "/api/v2/latency/quantiles", "/api/v2/latency/distribution", "/__phase"} {
			if code, _ := call(t, "GET", n.Base+path, ""); code >= 500 {
				fiveXX++
			}
		}
	}
	if fiveXX != 0 {
		t.Errorf("%d 5xx answers from core routes with Redis down", fiveXX)
	}
	for _, p := range reps[:2] {
		var e map[string]any
		if code := p.get(t, "GET", "/api/v2/latency/quantiles?scope=cluster", &e); code != 503 {
			t.Fatalf("scope=cluster with Redis down: %d %v", code, e)
		}
		msg := fmt.Sprint(e["error"])
		if !strings.Contains(msg, "cluster_unavailable") || !strings.Contains(msg, "redis") {
			t.Errorf("503 does not say why: %s", msg)
		}
	}

	// Start Redis again (empty): the cluster view comes back by itself.
	rs.Restart()
	poll(t, 20*time.Second, "the cluster view comes back", func() (bool, string) {
		code := reps[1].get(t, "GET", "/api/v2/latency/quantiles?scope=cluster", &cr)
		return code == 200 && slices.Equal(cr.ids(), []string{"r1", "r2"}), fmt.Sprintf("%d %v", code, cr.ids())
	})
}

func urlq(s string) string { return strings.NewReplacer(" ", "%20", "/", "%2F", ":", "%3A").Replace(s) }

// metricValue reads one sample of a counter from /metrics text.
func metricValue(t testing.TB, p *proc, series string) float64 {
	t.Helper()
	_, b := call(t, "GET", p.Base+"/metrics", "")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscanf(strings.TrimPrefix(line, series+" "), "%g", &v)
			return v
		}
	}
	return 0
}

// A burst through nginx across three replicas draws on one budget (the
// Redis limiter), not three; with Redis gone, each replica falls back to
// its own local buckets and nothing fails.
func TestClusterSharedRateLimit(t *testing.T) {
	bin := buildVariant(t, "prodapi")
	rs := testredis.Start(t)
	// 0.01 rps: no refill worth counting during the test; burst 20.
	reps := startReplicas(t, bin, rs.URL, 3, "RATE_LIMIT_RPS=0.01", "RATE_LIMIT_BURST=20")
	n := startNginx(t, bases(reps)...)
	var h map[string]any
	reps[0].get(t, "GET", "/health", &h)
	if h["rate_limit"] != "shared (local fallback)" {
		t.Fatalf("rate_limit %v: the Redis limiter is not the default with REDIS_URL", h["rate_limit"])
	}
	burst := func() map[int]int {
		got := map[int]int{}
		for i := 0; i < 60; i++ {
			code, _ := call(t, "GET", n.Base+"/ml-capabilities", "")
			got[code]++
		}
		return got
	}
	got := burst()
	if got[200] < 20 || got[200] > 21 || got[429] != 60-got[200] {
		t.Fatalf("burst of 60 through nginx over 3 replicas: %v; want 20 (one shared budget) allowed, the rest 429", got)
	}
	const allowed = `advanced_backend_ratelimit_requests_total{result="allowed"}`
	const limited = `advanced_backend_ratelimit_requests_total{result="limited"}`
	for i, p := range reps {
		a, l := metricValue(t, p, allowed), metricValue(t, p, limited)
		t.Logf("r%d: %g allowed, %g limited", i+1, a, l)
		if a+l == 0 {
			t.Errorf("r%d took no part in the burst", i+1)
		}
	}
	rs.Kill()
	got = burst()
	t.Logf("burst with Redis down: %v", got)
	if got[200] <= 21 || got[200]+got[429] != 60 {
		t.Fatalf("with Redis down: %v; want local buckets (up to 20 per replica), no 5xx", got)
	}
}

// BenchmarkClusterThroughput measures requests/s through nginx with 1, 2
// and 3 replicas behind it, and against one replica without nginx (GET
// /health and GET /api/v2/latency/quantiles alternately, 8 concurrent
// keep-alive clients), first without rate limiting, then with the shared
// Redis limiter deciding every quantiles request (a limit too high to
// bite). Every request must answer 200: a failure fails the benchmark.
// DEPLOY.md quotes it:
//
//	go test ./e2e -run '^$' -bench ClusterThroughput -benchtime 2s
func BenchmarkClusterThroughput(b *testing.B) {
	bin := buildVariant(b, "prodapi")
	rs := testredis.Start(b)
	const clients = 8
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"no_rate_limiting", []string{"SAFE_MODE=1"}},
		{"shared_redis_limiter", []string{"RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000"}},
	} {
		reps := startReplicas(b, bin, rs.URL, 3, mode.env...)
		for k := 0; k <= 3; k++ {
			base, n := reps[0].Base, (*lb)(nil) // k = 0: one replica without nginx, the baseline
			name := mode.name + "/direct"
			if k > 0 {
				n = startNginx(b, bases(reps[:k])...)
				base, name = n.Base, fmt.Sprintf("%s/nginx_%d_replicas", mode.name, k)
			}
			b.Run(name, func(b *testing.B) {
				var next, failed atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							path := "/health"
							if i%2 == 1 {
								path = "/api/v2/latency/quantiles"
							}
							resp, err := hc.Get(base + path)
							if err != nil {
								failed.Add(1)
								continue
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								failed.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				if f := failed.Load(); f > 0 {
					b.Fatalf("%d of %d requests failed", f, b.N)
				}
			})
			tr.CloseIdleConnections() // nginx's graceful quit waits for idle client connections
			if n != nil {
				n.stop()
			}
		}
		for _, p := range reps {
			_ = p.Stop(b)
		}
	}
}
