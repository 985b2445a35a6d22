package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testtool"
)

// browser starts Debian's chromium headless with a fresh profile and
// returns a chromedp context for one tab. The browser is closed at the end
// of the test.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := testtool.Need(t, "chromium", testtool.GetChromium)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		_ = chromedp.Cancel(cctx)
		cancel()
		acancel()
	})
	return ctx
}

// consoleLog collects the console messages and exceptions of a tab.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
	done chan struct{}
}

func watchConsole(t *testing.T, ctx context.Context) *consoleLog {
	t.Helper()
	lctx, cancel := context.WithCancel(ctx)
	cl := &consoleLog{done: make(chan struct{})}
	msgs := chromedp.Console(lctx) // subscribes now, before the navigation
	go func() {
		defer close(cl.done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			cl.mu.Lock()
			cl.msgs = append(cl.msgs, m)
			cl.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-cl.done })
	return cl
}

// jsErrors returns the messages that are JavaScript errors: uncaught
// exceptions, unhandled rejections and console.error/warn calls. Entries of
// the browser's own log about failed loads (the latency endpoints' 404 before
// the engine existed, refused connections once the server is stopped) are
// network events the page handles, not script errors.
func (c *consoleLog) jsErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		switch {
		case m.Type == chromedp.ConsoleException:
			out = append(out, fmt.Sprintf("exception at %s:%d: %s", m.URL, m.Line, m.Text))
		case (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning) && len(m.Args) > 0:
			out = append(out, fmt.Sprintf("console.%s: %s", m.Type, m.Text))
		case m.Type == chromedp.ConsoleError && !strings.Contains(m.Text, "Failed to load resource"):
			out = append(out, "browser log error: "+m.Text)
		}
	}
	return out
}

func (c *consoleLog) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.msgs) }

func savePNG(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// sendTraffic hits a few routes a bounded number of times, each with a
// request id, and returns how often each route template was hit.
func sendTraffic(t *testing.T, p *proc) map[string]int {
	t.Helper()
	hits := map[string]int{}
	plan := []struct {
		route, path string
		n, status   int
	}{
		{"GET /health", "/health", 40, 200},
		{"GET /__phase", "/__phase", 20, 200},
		{"GET /ml-capabilities", "/ml-capabilities", 10, 200},
		{"(unmatched)", "/no/such/page", 5, 404},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, step := range plan {
		for i := range step.n {
			req, _ := http.NewRequest("GET", p.Base+step.path, nil)
			id := fmt.Sprintf("e2e-%s-%d", strings.Trim(step.path, "/_"), i)
			id = strings.ReplaceAll(id, "/", ".")
			req.Header.Set("X-Request-ID", id)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", step.path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != step.status {
				t.Fatalf("GET %s: %d, want %d", step.path, resp.StatusCode, step.status)
			}
			if got := resp.Header.Get("X-Request-ID"); got != id {
				t.Fatalf("GET %s: request id echoed as %q, want %q", step.path, got, id)
			}
		}
		hits[step.route] += step.n
	}
	return hits
}

// pageState is what the test reads back from the rendered page.
type pageState struct {
	State   string            `json:"state"`
	Latency string            `json:"latency"`
	Variant string            `json:"variant"`
	Status  string            `json:"status"`
	Modes   string            `json:"modes"`
	Groups  map[string]string `json:"groups"` // group -> linked cell
	Routes  map[string]string `json:"routes"` // route -> count cell
	Cells   map[string]string `json:"cells"`  // route -> p50 cell
	Chart   int               `json:"chart"`  // polylines drawn
	Down    string            `json:"down"`
	Events  int               `json:"events"`
	LatMsg  string            `json:"latmsg"`
	Banner  string            `json:"notready"` // the not-ready banner, "" when hidden
	Ready   map[string]string `json:"ready"`    // group -> ready cell
}

const readPage = `(() => {
  const q = (s) => document.querySelector(s);
  const groups = {}, routes = {}, cells = {}, ready = {};
  for (const tr of document.querySelectorAll("#groups tr")) { groups[tr.dataset.group] = tr.children[1].textContent; ready[tr.dataset.group] = tr.children[3].textContent; }
  for (const tr of document.querySelectorAll("#routes tr")) { routes[tr.dataset.route] = tr.children[1].textContent; cells[tr.dataset.route] = tr.children[2].textContent; }
  return {
    state: document.body.dataset.state, latency: document.body.dataset.latency,
    variant: q("#variant").textContent, status: q("#status").textContent, modes: q("#modes").textContent,
    groups, routes, cells,
    chart: document.querySelectorAll("#chart polyline").length,
    down: getComputedStyle(q("#down")).display === "none" ? "" : q("#down").textContent,
    events: document.querySelectorAll("#events tr").length,
    latmsg: q("#latency-state").textContent,
    notready: getComputedStyle(q("#notready")).display === "none" ? "" : q("#notready").textContent,
    ready,
  };
})()`

func TestDashboardInBrowser(t *testing.T) {
	shots, err := os.MkdirTemp("", "dashboard-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	for _, tc := range []struct {
		variant string
		env     []string
	}{
		{"lean", nil},
		{"full", []string{"SAFE_MODE=1", "STRUCTURED_LOG=1", "LOG_LEVEL=debug"}}, // debug: probe requests log at DEBUG
	} {
		t.Run(tc.variant, func(t *testing.T) {
			checkDashboard(t, tc.variant, tc.env, shots)
		})
	}
}

func checkDashboard(t *testing.T, variant string, env []string, shots string) {
	p := startBinary(t, buildVariant(t, variant), env...)
	hits := sendTraffic(t, p)

	ctx := browser(t, 1280, 1800)
	console := watchConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.Base+"/")); err != nil {
		t.Fatalf("open dashboard: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/executive_dashboard.html") {
		t.Fatalf("/ led to %q (%v)", loc, err)
	}

	// Wait (bounded) until the capability matrix is filled and the latency
	// table shows every hit route with a count and quantiles in ms, and the
	// chart has its lines.
	ready := `(() => {
  if (document.body.dataset.state !== "ok") return false;
  if (document.querySelectorAll("#groups tr").length !== ` + fmt.Sprint(len(groupspec.GroupNames())) + `) return false;
  if (document.body.dataset.latency !== "ok") return false;
  const want = ` + mustJSON(t, slices.Sorted(maps.Keys(hits))) + `;
  return want.every((r) => { const tr = document.querySelector('#routes tr[data-route="' + r + '"]');
    return tr && /^[0-9][0-9,]*$/.test(tr.children[1].textContent) && / ms$/.test(tr.children[2].textContent); })
    && document.querySelectorAll("#chart polyline").length >= 3;
})()`
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = chromedp.Run(wctx, chromedp.Poll[bool](ready, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)))
	wcancel()
	st := read(t, ctx)
	if err != nil {
		t.Fatalf("dashboard never showed the matrix and latency data: %v\npage: %+v", err, st)
	}

	// Capability matrix: every group, linked exactly when the variant has it.
	spec, ok := groupspec.LookupVariant(variant)
	if !ok {
		t.Fatalf("unknown variant %s", variant)
	}
	linked := spec.Groups
	for _, g := range groupspec.GroupNames() {
		want := "no"
		if slices.Contains(linked, g) {
			want = "yes"
		}
		if st.Groups[g] != want {
			t.Errorf("group %s linked cell %q, want %q", g, st.Groups[g], want)
		}
	}
	// A linked group that is not ready (llm without API keys in full) is
	// flagged in its row and in the banner; lean has none.
	var caps capsReport
	if code := p.get(t, "GET", "/ml-capabilities", &caps); code != http.StatusOK {
		t.Fatalf("/ml-capabilities %d", code)
	}
	var notReady []string
	for g, gs := range caps.Groups {
		if gs.Linked && !gs.Ready {
			notReady = append(notReady, g)
			if st.Ready[g] != "not ready" || !strings.Contains(st.Banner, g) {
				t.Errorf("group %s is not ready: cell %q, banner %q", g, st.Ready[g], st.Banner)
			}
		} else if gs.Linked && st.Ready[g] != "ready" {
			t.Errorf("group %s is ready: cell %q", g, st.Ready[g])
		}
	}
	if len(notReady) == 0 && st.Banner != "" {
		t.Errorf("all groups ready, yet banner %q", st.Banner)
	}
	if variant == "full" && !slices.Contains(notReady, "llm") {
		t.Errorf("full without API keys: llm should not be ready (not ready: %v)", notReady)
	}

	if st.Variant != variant || st.Status != "ok" {
		t.Errorf("header variant %q status %q", st.Variant, st.Status)
	}
	if safe := slices.Contains(env, "SAFE_MODE=1"); strings.Contains(st.Modes, "SAFE on") != safe {
		t.Errorf("modes %q with SAFE_MODE=%t", st.Modes, safe)
	}
	if st.Events == 0 {
		t.Error("startup heartbeat shows no events")
	}
	// Each hit route shows at least as many requests as the test sent (the
	// page's own polls add to some), and a p50 in ms.
	for route, n := range hits {
		shown, err := strconv.Atoi(strings.ReplaceAll(st.Routes[route], ",", ""))
		if err != nil || shown < n || !strings.HasSuffix(st.Cells[route], " ms") {
			t.Errorf("route %s (hit %d times) shows count %q p50 %q", route, n, st.Routes[route], st.Cells[route])
		}
	}
	if st.Chart < 3 {
		t.Errorf("chart has %d lines, want p50, p95, p99 (and the EMA p95 once a sub-window closed)", st.Chart)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	savePNG(t, shots, variant+"-laptop.png", png)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	savePNG(t, shots, variant+"-phone.png", png)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1800)); err != nil {
		t.Fatal(err)
	}

	// Pause stops the polling; resume starts it again.
	paused := `document.body.dataset.paused === "true" && document.getElementById("updated").textContent.startsWith("paused")`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](paused, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}

	// Stop the server: the page must say so.
	if err := p.Stop(t); err != nil {
		t.Errorf("server exit: %v", err)
	}
	down := `document.body.dataset.state === "down" && getComputedStyle(document.getElementById("down")).display !== "none"`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](down, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("page never showed the down state: %v\npage: %+v", err, read(t, ctx))
	}
	st = read(t, ctx)
	if st.Status != "down" || !strings.Contains(st.Down, "unreachable") {
		t.Errorf("down state: status %q banner %q", st.Status, st.Down)
	}
	if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	savePNG(t, shots, variant+"-down.png", png)

	t.Logf("console: %d messages, none a script error unless listed below", console.count())
	if errs := console.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors:\n%s", strings.Join(errs, "\n"))
	}
	if slices.Contains(env, "STRUCTURED_LOG=1") {
		checkJSONLogs(t, p.Logs())
	}
}

func read(t *testing.T, ctx context.Context) pageState {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := chromedp.Run(rctx, chromedp.Evaluate[pageState](readPage))
	if err != nil {
		t.Fatalf("read page: %v", err)
	}
	return st
}

// checkJSONLogs checks that a STRUCTURED_LOG=1 binary wrote one JSON object
// a line and that the request lines carry the request ids the test sent.
func checkJSONLogs(t *testing.T, logs string) {
	t.Helper()
	ids := 0
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("STRUCTURED_LOG=1 wrote a non-JSON line: %q", l)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				t.Errorf("log line lacks %s: %q", k, l)
			}
		}
		if id, _ := m["request_id"].(string); m["msg"] == "request" && strings.HasPrefix(id, "e2e-") {
			ids++
			if m["route"] == nil || m["status"] == nil || m["duration_ms"] == nil || m["client"] != "127.0.0.1" {
				t.Errorf("request line lacks fields: %q", l)
			}
		}
	}
	if ids != 75 {
		t.Errorf("%d request lines carry the test's request ids, want 75", ids)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
