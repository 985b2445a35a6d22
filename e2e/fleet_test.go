package e2e

// A fleet behind nginx (issue 22): three real full-variant replicas sharing
// one real redis-server (internal/testkit/testredis), Debian's nginx running the
// repository's own configuration (deploy/nginx/advanced-backend.conf), and
// the in-process fake LLM upstream (internal/testkit/testllm: no real LLM API can
// be reached here; it speaks the OpenAI wire protocol, SSE included). A
// client sends mixed requests at a fixed rate while each replica in turn
// is restarted: with SIGTERM nothing may fail; with SIGKILL only requests
// in flight on the killed replica may, and the count is reported.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testtool"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// fleetTool locates an external tool the fleet tests need (nginx,
// redis-server) and fails naming it when it is missing. It is the one place
// these tests look tools up, so a shared skip-unless-strict helper can take
// over here.
func fleetTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); fileExists(p) { // nginx lives in sbin, not on every PATH
		return p
	}
	how := map[string]string{"nginx": testtool.GetNginx, "redis-server": testtool.GetRedis, "redis-cli": testtool.GetRedis}[name]
	if how == "" {
		how = "apt-get install " + name
	}
	testtool.Missing(t, name, how, nil)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// nginxSite is the repository's nginx configuration, the one DEPLOY.md shows.
const nginxSite = "deploy/nginx/advanced-backend.conf"

var (
	nginxServerLines = regexp.MustCompile(`(?m)^([ \t]*)server 10\.0\.0\.1[0-9]:8000( [^;\n]*)?;[^\n]*\n`)
	nginxListen      = regexp.MustCompile(`(?m)^([ \t]*)listen 80;`)
)

// nginxConf returns deploy/nginx/advanced-backend.conf with its only
// deployment-specific parts substituted: the block of example server lines
// becomes one line per upstream (with the same parameters), and the listen
// address becomes listen. Everything else runs as written; a file whose
// shape no longer matches fails the test instead of running something else.
func nginxConf(t testing.TB, listen string, upstreams ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, nginxSite))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	locs := nginxServerLines.FindAllStringSubmatchIndex(conf, -1)
	if len(locs) != 3 {
		t.Fatalf("%s: want the 3 example server lines (server 10.0.0.1N:8000 ...;), found %d", nginxSite, len(locs))
	}
	for i := 1; i < len(locs); i++ {
		if locs[i][0] != locs[i-1][1] {
			t.Fatalf("%s: the example server lines are not one block", nginxSite)
		}
	}
	m := locs[0]
	indent, params := conf[m[2]:m[3]], ""
	if m[4] >= 0 {
		params = conf[m[4]:m[5]]
	}
	var lines strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&lines, "%sserver %s%s;\n", indent, strings.TrimPrefix(u, "http://"), params)
	}
	conf = conf[:locs[0][0]] + lines.String() + conf[locs[len(locs)-1][1]:]
	if n := len(nginxListen.FindAllString(conf, -1)); n != 1 {
		t.Fatalf("%s: want one `listen 80;`, found %d", nginxSite, n)
	}
	return nginxListen.ReplaceAllString(conf, "${1}listen "+listen+";")
}

// TestNginxConfIsTheDeployedOne: the configuration the tests run is the
// file with only its addresses changed, and it carries the settings
// DEPLOY.md explains (so nothing the doc relies on is lost by an edit).
func TestNginxConfIsTheDeployedOne(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(repoRoot, nginxSite))
	if err != nil {
		t.Fatal(err)
	}
	got := nginxConf(t, "127.0.0.1:9", "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")
	back := strings.NewReplacer("127.0.0.1:1 ", "10.0.0.11:8000 ", "127.0.0.1:2 ", "10.0.0.12:8000 ", "127.0.0.1:3 ", "10.0.0.13:8000 ",
		"listen 127.0.0.1:9;", "listen 80;").Replace(got)
	if back != string(orig) {
		t.Fatalf("the rendered configuration differs from %s beyond its addresses:\n%s", nginxSite, got)
	}
	for _, want := range []string{"proxy_next_upstream error timeout;", "proxy_buffering off;", "keepalive_timeout 4s;",
		"proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", "proxy_http_version 1.1;", "proxy_read_timeout 15m;"} {
		if !strings.Contains(string(orig), want) {
			t.Errorf("%s lacks %q", nginxSite, want)
		}
	}
	deploy, err := os.ReadFile(filepath.Join(repoRoot, "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deploy), "```nginx\n"+string(orig)+"```") {
		t.Errorf("DEPLOY.md does not show %s as it is (a ```nginx block with the file's exact text)", nginxSite)
	}
}

// replica is one fleet member on a fixed port, restartable.
type replica struct {
	id, addr, dataDir string
	env               []string
	p                 *proc
	// owner is the test that stops the replica at its end: the whole
	// test, not the subtest that restarted it.
	owner *testing.T
}

func (r *replica) start(t *testing.T, bin string) {
	t.Helper()
	p := &proc{logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1), Base: "http://" + r.addr}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "ADDR=" + r.addr, "REPLICA_ID=" + r.id,
		"VECTOR_DATA_DIR=" + r.dataDir}, r.env...)
	w := lockedBuffer{p.mu, p.logs}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	r.owner.Cleanup(func() { p.Stop(r.owner) })
	r.p = p
	waitfor.True(t, 20*time.Second, r.id+" /ready 200", func() bool {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited at start: %v\n%s", r.id, err, p.Logs())
		default:
		}
		resp, err := http.Get(p.Base + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// outcome is one request of the load.
type outcome struct {
	kind       string
	start, end time.Time
	status     int
	err        string
	replica    string // the replica that answered a GET /health
}

func (o outcome) failed() bool { return o.err != "" || o.status < 200 || o.status > 299 }

// fleetLoad sends requests at a fixed rate until stopped.
type fleetLoad struct {
	base, token string
	hc          *http.Client
	mu          sync.Mutex
	out         []outcome
	seen        map[string]time.Time // replica id -> last GET /health it answered
}

var fleetKinds = []string{"GET /health", "GET /api/v2/latency/quantiles", "GET /ml-capabilities",
	"POST /v1/chat/completions", "POST /v1/chat/completions stream"}

func (l *fleetLoad) one(ctx context.Context, i int) {
	kind := fleetKinds[i%len(fleetKinds)]
	o := outcome{kind: kind, start: time.Now()}
	method, path, _ := strings.Cut(kind, " ")
	path, stream := strings.CutSuffix(path, " stream")
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(fmt.Sprintf(`{"model":"openai/fake-gpt","stream":%t,"messages":[{"role":"user","content":"req %d"}]}`, stream, i))
	}
	req, _ := http.NewRequestWithContext(ctx, method, l.base+path, body)
	req.Header.Set("Authorization", "Bearer "+l.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		o.err = err.Error()
	} else {
		o.status = resp.StatusCode
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case rerr != nil:
			o.err = "reading the answer: " + rerr.Error()
		case stream && o.status == 200 && !strings.HasSuffix(strings.TrimSpace(string(b)), "data: [DONE]"):
			o.err = fmt.Sprintf("stream incomplete: ends %q", tail(string(b), 80))
		case kind == "GET /health" && o.status == 200:
			if m := regexp.MustCompile(`"replica_id":"([^"]+)"`).FindStringSubmatch(string(b)); m != nil {
				o.replica = m[1]
			}
		}
	}
	o.end = time.Now()
	l.mu.Lock()
	l.out = append(l.out, o)
	if o.replica != "" {
		l.seen[o.replica] = o.end
	}
	l.mu.Unlock()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// run sends rate requests per second (a ticker, each request in its own
// goroutine, at most maxInFlight at once) until ctx ends, then waits for
// the ones in flight.
func (l *fleetLoad) run(ctx context.Context, rate int) {
	const maxInFlight = 128
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default: // the bound is part of the test: a full client is a failure, counted
			l.mu.Lock()
			l.out = append(l.out, outcome{kind: "skipped", start: time.Now(), end: time.Now(), err: "more than 128 requests in flight"})
			l.mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// Requests are not cut by the end of the run: they finish.
			l.one(context.WithoutCancel(ctx), i)
		}()
	}
}

func (l *fleetLoad) lastSeen(id string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[id]
}

// TestRollingRestartBehindNginx (issue 22 section 2): three full replicas
// behind nginx with the repository's configuration, one shared Redis, a
// client at a fixed rate of mixed requests (core GETs, chat completions
// plain and streamed, all with a JWT). Each replica in turn is restarted:
// with SIGTERM (SHUTDOWN_DRAIN 5s, longer than nginx's keepalive_timeout)
// not one request may fail, every stream must end with [DONE], and each
// replica exits 0; with SIGKILL only requests that were in flight when the
// replica died may fail (POSTs, which nginx does not retry once sent, and
// streams cut midway), and their count is reported.
func TestRollingRestartBehindNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the full variant and runs for about a minute")
	}
	fleetTool(t, "nginx")
	fleetTool(t, "redis-server")
	bin := buildVariant(t, "full")
	rs := testredis.Start(t)
	fake := testllm.Start(t)
	fake.Reply = "one two three four five six seven eight nine ten"
	fake.ChunkDelay = 80 * time.Millisecond // a stream lasts about 0.8 s: many are in flight at each restart
	const secret = "fleet-secret-0123456789abcdef-0123456789"
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "fleet", "roles": []string{"user"}, "exp": time.Now().Add(30 * time.Minute).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"REDIS_URL=" + rs.URL, "REDIS_TIMEOUT=2s", "REDIS_RETRY_INTERVAL=100ms",
		"JWT_SECRET=" + secret, "TRUSTED_PROXIES=127.0.0.1",
		// far above the load: no 429 is expected (none is set aside)
		"RATE_LIMIT_RPS=10000", "RATE_LIMIT_BURST=10000",
		"SHUTDOWN_DRAIN=5s", "SHUTDOWN_TIMEOUT=15s", "LOG_LEVEL=warn",
		"OPENAI_BASE_URL=" + fake.OpenAIBase(), "OPENAI_API_KEY=" + fake.OpenAIKey, "OPENAI_MODEL=fake-gpt",
		"ANTHROPIC_BASE_URL=" + fake.URL, "ANTHROPIC_API_KEY=" + fake.AnthropicK, "ANTHROPIC_MODEL=fake-claude"}
	reps := make([]*replica, 3)
	var ups []string
	for i := range reps {
		reps[i] = &replica{id: fmt.Sprintf("r%d", i+1), addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			dataDir: t.TempDir(), env: env, owner: t} // each replica its own embedded vector directory
		reps[i].start(t, bin)
		ups = append(ups, "http://"+reps[i].addr)
	}
	n := startNginx(t, ups...)

	const rate = 40 // requests per second, all kinds together
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			tr := &http.Transport{MaxIdleConnsPerHost: 128}
			defer tr.CloseIdleConnections()
			l := &fleetLoad{base: n.Base, token: tok, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, seen: map[string]time.Time{}}
			ctx, stop := context.WithCancel(context.Background())
			loadDone := make(chan struct{})
			begin := time.Now()
			go func() { defer close(loadDone); l.run(ctx, rate) }()
			defer func() { stop(); <-loadDone }()

			// Every replica serves through nginx before the first restart.
			for _, r := range reps {
				waitfor.True(t, 15*time.Second, r.id+" answers through nginx", func() bool { return !l.lastSeen(r.id).IsZero() })
			}
			var kills []time.Time
			for _, r := range reps {
				at := time.Now()
				kills = append(kills, at)
				_ = r.p.cmd.Process.Signal(sig)
				if sig == syscall.SIGTERM {
					// Draining: not ready, still serving (checked on the replica itself).
					poll(t, 4*time.Second, r.id+" /ready 503 while draining", func() (bool, string) {
						code, b := call(t, "GET", r.p.Base+"/ready", "")
						return code == 503 && strings.Contains(string(b), `"draining":true`), fmt.Sprintf("%d %s", code, b)
					})
					if code, _ := call(t, "GET", r.p.Base+"/health", ""); code != 200 {
						t.Errorf("%s /health while draining: %d", r.id, code)
					}
				}
				var exitErr error
				select {
				case exitErr = <-r.p.done:
					r.p.done <- exitErr
				case <-time.After(30 * time.Second):
					t.Fatalf("%s did not exit within 30 s of %s\n%s", r.id, sig, r.p.Logs())
				}
				took := time.Since(at)
				if sig == syscall.SIGTERM {
					if exitErr != nil {
						t.Errorf("%s after SIGTERM: %v (want exit 0)\n%s", r.id, exitErr, r.p.Logs())
					}
					t.Logf("%s: SIGTERM to exit %s (drain 5s, then in-flight requests)", r.id, took.Round(time.Millisecond))
				}
				r.start(t, bin)
				// Back in nginx's rotation (after its fail_timeout) before the next.
				waitfor.True(t, 20*time.Second, r.id+" answers through nginx again", func() bool { return l.lastSeen(r.id).After(at) })
			}
			stop()
			<-loadDone
			elapsed := time.Since(begin)

			byKind := map[string]int{}
			var slowest outcome
			var failed []outcome
			for _, o := range l.out {
				byKind[o.kind]++
				if o.end.Sub(o.start) > slowest.end.Sub(slowest.start) {
					slowest = o
				}
				if o.failed() {
					failed = append(failed, o)
				}
			}
			t.Logf("%s: %d requests in %s: achieved %.1f req/s (target %d); by kind %v", sig, len(l.out),
				elapsed.Round(time.Millisecond), float64(len(l.out))/elapsed.Seconds(), rate, byKind)
			t.Logf("%s: slowest request %s: %s (status %d %s)", sig, slowest.kind, slowest.end.Sub(slowest.start).Round(time.Millisecond), slowest.status, slowest.err)
			if len(l.out) < int(elapsed.Seconds()*rate*0.8) {
				t.Errorf("achieved %d requests in %s: the client fell behind its rate", len(l.out), elapsed)
			}
			if byKind["POST /v1/chat/completions stream"] == 0 || byKind["GET /health"] == 0 {
				t.Fatalf("load without every kind: %v", byKind)
			}
			sort.Slice(failed, func(i, j int) bool { return failed[i].start.Before(failed[j].start) })
			describe := func(o outcome) string {
				return fmt.Sprintf("%s at +%s (%s): status %d %s", o.kind, o.start.Sub(begin).Round(time.Millisecond),
					o.end.Sub(o.start).Round(time.Millisecond), o.status, o.err)
			}
			if sig == syscall.SIGTERM {
				for _, o := range failed {
					t.Errorf("failed under SIGTERM: %s", describe(o))
				}
				if len(failed) > 0 {
					log, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
					t.Logf("nginx error.log:\n%s", tail(string(log), 4000))
				}
				return
			}
			// SIGKILL: a failure must have been in flight at a kill: started
			// before it (or within the instant nginx needs to see the
			// connection close) and ended after it.
			const grace = 250 * time.Millisecond
			inFlight := 0
			for _, o := range failed {
				ok := false
				for _, k := range kills {
					if o.start.Before(k.Add(grace)) && o.end.After(k) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("failed under SIGKILL but not in flight at a kill: %s", describe(o))
					continue
				}
				inFlight++
				t.Logf("in flight at a kill, failed: %s", describe(o))
			}
			t.Logf("SIGKILL: %d of %d requests failed, all in flight on a killed replica", inFlight, len(l.out))
		})
	}
}

// fleetExample is the worked example's script.
const fleetExample = "examples/fleet/run.sh"

// TestFleetExample (issue 19 item 4d): examples/fleet/run.sh runs three
// replicas, a redis-server and nginx with deploy/nginx/advanced-backend.conf
// on one machine, as DEPLOY.md tells a user to; the test runs it as written
// (with free ports), checks the fleet through nginx (three replica ids, one
// shared rate-limit budget through Redis), then stops the script with
// SIGINT (Ctrl-C) and checks that it took everything down.
func TestFleetExample(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the prodapi variant and starts five processes")
	}
	nginx := fleetTool(t, "nginx")
	fleetTool(t, "redis-server")
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(sc, filepath.Join(repoRoot, fleetExample)).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", fleetExample, err, out)
		}
	} else {
		t.Log("shellcheck not found: the script is not linted (scripts/test-deps.sh installs it)")
	}
	bin := buildVariant(t, "prodapi")
	ports := []int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
	dir := t.TempDir()
	cmd := exec.Command("bash", fleetExample) // from the repository root, as a user runs it
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "BIN="+bin, "WORK_DIR="+dir, "NGINX="+nginx,
		fmt.Sprintf("LB_PORT=%d", ports[0]), fmt.Sprintf("REDIS_PORT=%d", ports[1]),
		fmt.Sprintf("REPLICA_PORTS=%d %d %d", ports[2], ports[3], ports[4]),
		// a small budget, so the test can see it is shared
		"RATE_LIMIT_RPS=0.01", "RATE_LIMIT_BURST=20")
	var out bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedBuffer{&mu, &out}, lockedBuffer{&mu, &out}
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	waitfor.True(t, 60*time.Second, "the example's fleet to say it is up", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("%s exited before the fleet was up: %v\n%s", fleetExample, err, output())
		default:
		}
		return strings.Contains(output(), "fleet up")
	})
	ids := map[string]bool{}
	for i := 0; i < 12; i++ {
		var h map[string]any
		if code := callJSON(t, "GET", base+"/health", "", &h); code != 200 {
			t.Fatalf("/health through nginx: %d", code)
		}
		ids[fmt.Sprint(h["replica_id"])] = true
	}
	if len(ids) != 3 {
		t.Fatalf("replicas seen through nginx: %v, want 3", ids)
	}
	var ready readyBody
	if code := callJSON(t, "GET", base+"/ready", "", &ready); code != 200 || len(ready.Degraded) != 0 {
		t.Fatalf("/ready through nginx: %d %+v (Redis is up: nothing degraded)", code, ready)
	}
	got := map[int]int{}
	for i := 0; i < 40; i++ {
		code, _ := call(t, "GET", base+"/ml-capabilities", "")
		got[code]++
	}
	if got[200] < 20 || got[200] > 21 || got[429] != 40-got[200] {
		t.Fatalf("40 requests through nginx: %v; want one shared budget of 20 (Redis), the rest 429", got)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("%s after Ctrl-C: %v\n%s", fleetExample, err, output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of Ctrl-C\n%s", fleetExample, output())
	}
	for _, p := range ports {
		if c, err := (&http.Client{Timeout: time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/health", p)); err == nil {
			c.Body.Close()
			t.Errorf("port %d still answers after the example stopped", p)
		}
	}
	// The script's output is what DEPLOY.md shows a user: it names each piece.
	for _, want := range []string{"redis-server", "r1", "r3", "nginx", nginxSite} {
		if !strings.Contains(output(), want) {
			t.Errorf("the example's output does not mention %q:\n%s", want, output())
		}
	}
}

// TestDeployRouteCount (issue 19 item 3.5): DEPLOY.md's count of prodapi's
// routes, and the publication size it derives from it, come from the
// router: prodapi's trackable_routes in /__phase.
func TestDeployRouteCount(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the prodapi variant")
	}
	p := startBinary(t, buildVariant(t, "prodapi"))
	var ph struct {
		TrackableRoutes int `json:"trackable_routes"`
	}
	if code := p.get(t, "GET", "/__phase", &ph); code != 200 || ph.TrackableRoutes == 0 {
		t.Fatalf("/__phase: %d %+v", code, ph)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	m := regexp.MustCompile(`prodapi has (\d+) routes`).FindStringSubmatch(doc)
	if m == nil || m[1] != fmt.Sprint(ph.TrackableRoutes) {
		t.Fatalf("DEPLOY.md says %v; prodapi's router has %d trackable routes", m, ph.TrackableRoutes)
	}
	m = regexp.MustCompile(`about (\d+) x 4\.9 KB = (\d+) KB`).FindStringSubmatch(doc)
	if m == nil || m[1] != fmt.Sprint(ph.TrackableRoutes) || m[2] != fmt.Sprintf("%.0f", float64(ph.TrackableRoutes)*4.9) {
		t.Fatalf("DEPLOY.md's busy-replica publication %v does not follow from %d routes x 4.9 KB", m, ph.TrackableRoutes)
	}
}
