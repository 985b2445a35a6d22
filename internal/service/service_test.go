package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// slowGroup blocks in Start until released, standing in for a group whose
// start-up is slow, and serves one slow route to test draining: the route
// says when it is in flight (entered) and answers when told (finish).
type slowGroup struct {
	release chan struct{}
	stopped chan struct{}
	entered chan struct{}
	finish  chan struct{}
	fail    error
}

func (g *slowGroup) Setup(h *groupapi.Host) error {
	h.Routes.Handle("GET", "/api/v2/ml/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(g.entered)
		select {
		case <-g.finish:
			apierr.WriteJSON(w, r, 200, map[string]any{"done": true})
		case <-r.Context().Done():
		}
	}))
	return nil
}
func (g *slowGroup) Start(ctx context.Context) error {
	select {
	case <-g.release:
		return g.fail
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (g *slowGroup) Stop(context.Context) error { close(g.stopped); return nil }
func (g *slowGroup) Status() groupapi.Status    { return groupapi.Status{Ready: true, Detail: "slow"} }

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// running is a Service that Run serves on a loopback port.
type running struct {
	base    string
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// runOnLoopback serves svc on a free loopback port until stop (or the end
// of the test).
func runOnLoopback(t *testing.T, svc *Service) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{base: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- svc.Run(ctx, ln) }()
	t.Cleanup(func() {
		if !r.stopped {
			_ = r.stop(t)
		}
	})
	return r
}

// stop cancels Run and returns its error, waiting at most 10 s.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.stopped = true
	r.cancel()
	select {
	case err := <-r.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("service did not stop within 10 s")
		return nil
	}
}

func TestListenFirstThenStartGroupsThenDrain(t *testing.T) {
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g := &slowGroup{release: make(chan struct{}), stopped: make(chan struct{}), entered: make(chan struct{}), finish: make(chan struct{})}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		map[string]groupapi.Feature{"ml": g}, capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
	if err != nil {
		t.Fatal(err)
	}
	r := runOnLoopback(t, svc)
	base := r.base

	// The group is still starting: /health answers at once, phase early.
	if h := getJSON(t, base+"/health"); h["phase"] != "early" {
		t.Fatalf("health while starting: %v", h)
	}
	caps := getJSON(t, base+"/ml-capabilities")
	if ml := caps["groups"].(map[string]any)["ml"].(map[string]any); ml["ready"] != false || ml["detail"] != "starting" {
		t.Fatalf("ml while starting: %v", ml)
	}
	close(g.release)
	waitfor.True(t, 5*time.Second, "the runtime phase", func() bool { return getJSON(t, base+"/health")["phase"] == "runtime" })

	// An in-flight request finishes although shutdown begins meanwhile.
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/api/v2/ml/slow")
		if err != nil {
			inflight <- -1
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	<-g.entered // the request is in flight
	r.stopped = true
	r.cancel()
	// Shutdown has begun when the listener refuses new connections; only
	// then may the in-flight request finish.
	waitfor.True(t, 5*time.Second, "the listener to close", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(g.finish)
	if code := <-inflight; code != 200 {
		t.Fatalf("in-flight request got %d", code)
	}
	select {
	case err = <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("service did not stop within 10 s")
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-g.stopped:
	default:
		t.Fatal("group was not stopped")
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestFailingGroupIsReportedAndServiceRuns(t *testing.T) {
	cfg, _ := config.Load(nil, func(string) (string, bool) { return "", false })
	g := &slowGroup{release: make(chan struct{}), stopped: make(chan struct{}), fail: errors.New("no backend")}
	close(g.release)
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		map[string]groupapi.Feature{"ml": g}, capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
	if err != nil {
		t.Fatal(err)
	}
	base := runOnLoopback(t, svc).base
	waitfor.True(t, 5*time.Second, "the runtime phase", func() bool { return getJSON(t, base+"/health")["phase"] == "runtime" })
	ml := getJSON(t, base+"/ml-capabilities")["groups"].(map[string]any)["ml"].(map[string]any)
	if ml["ready"] != false || ml["detail"] != "start failed: no backend" {
		t.Fatalf("%v", ml)
	}
}

// deafGroup ignores its context in Start (like a blocking open of a FIFO)
// and serves a route that ignores its request's context too.
type deafGroup struct{ block, entered chan struct{} }

func (g *deafGroup) Setup(h *groupapi.Host) error {
	h.Routes.Handle("GET", "/api/v2/ml/hang", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { close(g.entered); <-g.block }))
	return nil
}
func (g *deafGroup) Start(context.Context) error { <-g.block; return nil }
func (g *deafGroup) Stop(context.Context) error  { <-g.block; return nil }
func (g *deafGroup) Status() groupapi.Status     { return groupapi.Status{Ready: true} }

// TestRunIsBoundedWhateverAGroupDoes: a start that ignores its context is
// abandoned at GROUP_START_TIMEOUT (reported, phase runtime), and Run
// returns within SHUTDOWN_TIMEOUT although a request handler and the
// group's start both hang, in the early phase and at run time.
func TestRunIsBoundedWhateverAGroupDoes(t *testing.T) {
	for _, tc := range []struct {
		name, startTimeout string
		waitRuntime        bool
	}{{"runtime", "100ms", true}, {"early", "1h", false}} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"GROUP_START_TIMEOUT": tc.startTimeout, "SHUTDOWN_TIMEOUT": "300ms"}
			cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			g := &deafGroup{block: make(chan struct{}), entered: make(chan struct{})}
			t.Cleanup(func() { close(g.block) })
			svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
				map[string]groupapi.Feature{"ml": g}, capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
			if err != nil {
				t.Fatal(err)
			}
			r := runOnLoopback(t, svc)
			if tc.waitRuntime {
				waitfor.True(t, 10*time.Second, "the runtime phase after the start timeout", func() bool {
					return getJSON(t, r.base+"/health")["phase"] == "runtime"
				})
				resp, err := http.Get(r.base + "/ready")
				if err != nil {
					t.Fatal(err)
				}
				var ready map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&ready)
				resp.Body.Close()
				// Not required (READY_REQUIRE): reported in the 200, not a 503.
				if resp.StatusCode != 200 || !strings.Contains(fmt.Sprint(ready["not_ready"]), "did not finish within 100ms (GROUP_START_TIMEOUT)") {
					t.Fatalf("ready: %d %v", resp.StatusCode, ready)
				}
			} else if h := getJSON(t, r.base+"/health"); h["phase"] != "early" {
				t.Fatalf("health: %v", h)
			}
			// A request that never ends is in flight when shutdown begins.
			hung := make(chan error, 1)
			go func() {
				resp, err := http.Get(r.base + "/api/v2/ml/hang")
				if err == nil {
					resp.Body.Close()
				}
				hung <- err
			}()
			select {
			case <-g.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the hanging handler never ran")
			}
			r.cancel()
			select {
			case err := <-r.done:
				r.stopped = true
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10 s of cancel (SHUTDOWN_TIMEOUT 300ms)")
			}
			if err := <-hung; err == nil {
				t.Fatal("the hung request got an answer; want its connection closed at the deadline")
			}
		})
	}
}

// A start error marked groupapi.ErrFatal (a group whose data cannot be
// served) ends Run with that error, which main turns into exit status 2.
func TestFatalGroupStartEndsRun(t *testing.T) {
	cfg, _ := config.Load(nil, func(string) (string, bool) { return "", false })
	g := &slowGroup{release: make(chan struct{}), stopped: make(chan struct{}),
		fail: fmt.Errorf("%w: data directory in use", groupapi.ErrFatal)}
	close(g.release)
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		map[string]groupapi.Feature{"ml": g}, capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
	if err != nil {
		t.Fatal(err)
	}
	r := runOnLoopback(t, svc)
	select {
	case err := <-r.done:
		r.stopped = true
		if !errors.Is(err, groupapi.ErrFatal) || !strings.Contains(err.Error(), "group ml: fatal start-up error: data directory in use") {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after a fatal group start")
	}
}

// TestDrainKeepsServingThenCloses (issue 22): after the signal, with
// SHUTDOWN_DRAIN, /ready turns 503 while the listener still accepts and
// every route still answers (each answer closing its connection); then the
// listener closes, the request in flight since before the signal finishes,
// and Run returns nil.
func TestDrainKeepsServingThenCloses(t *testing.T) {
	env := map[string]string{"SHUTDOWN_DRAIN": "1500ms", "SHUTDOWN_TIMEOUT": "10s"}
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	g := &slowGroup{release: make(chan struct{}), stopped: make(chan struct{}), entered: make(chan struct{}), finish: make(chan struct{})}
	close(g.release)
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		map[string]groupapi.Feature{"ml": g}, capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
	if err != nil {
		t.Fatal(err)
	}
	r := runOnLoopback(t, svc)
	// status returns the code and whether the server asked to close the
	// connection (the client takes "Connection: close" into resp.Close).
	status := func(path string) (int, bool) {
		resp, err := http.Get(r.base + path)
		if err != nil {
			return -1, false
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Close
	}
	waitfor.True(t, 5*time.Second, "/ready 200", func() bool { c, _ := status("/ready"); return c == 200 })

	inflight := make(chan int, 1)
	go func() {
		resp, err := http.Get(r.base + "/api/v2/ml/slow")
		if err != nil {
			inflight <- -1
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	<-g.entered
	r.stopped = true
	r.cancel()
	waitfor.True(t, 5*time.Second, "/ready 503 while draining", func() bool { c, _ := status("/ready"); return c == 503 })
	// Still serving new connections, each answer closing its connection.
	if code, closing := status("/health"); code != 200 || !closing {
		t.Fatalf("/health while draining: %d, connection close %t", code, closing)
	}
	waitfor.True(t, 10*time.Second, "the listener to close after the drain", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(r.base, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(g.finish)
	if code := <-inflight; code != 200 {
		t.Fatalf("in-flight request got %d", code)
	}
	select {
	case err = <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("service did not stop within 10 s")
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestReadyRequireOfAGroupNotLinked: a required group this binary does not
// link could never be ready; New refuses it with a configuration error.
func TestReadyRequireOfAGroupNotLinked(t *testing.T) {
	cfg, err := config.Load(nil, func(k string) (string, bool) {
		return map[string]string{"READY_REQUIRE": "vector"}[k], k == "READY_REQUIRE"
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), map[string]groupapi.Feature{}, capability.BuildFacts{})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "READY_REQUIRE" || !strings.Contains(err.Error(), "vector is not linked") {
		t.Fatalf("New with READY_REQUIRE=vector on a build without it: %v", err)
	}
}
