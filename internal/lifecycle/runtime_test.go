package lifecycle

import (
	"context"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/advanced-backend/advanced-backend/features/groupdesc" // the real group table
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

type fakeFeature struct{ status groupapi.Status }

func (f *fakeFeature) Setup(*groupapi.Host) error  { return nil }
func (f *fakeFeature) Start(context.Context) error { return nil }
func (f *fakeFeature) Stop(context.Context) error  { return nil }
func (f *fakeFeature) Status() groupapi.Status     { return f.status }

func facts(tags string, mods ...string) capability.BuildFacts {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8"}
	for _, m := range mods {
		bi.Deps = append(bi.Deps, &debug.Module{Path: m, Version: "v1.0.0"})
	}
	bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "-tags", Value: tags})
	return capability.FactsFrom(bi)
}

// stubborn ignores its context in Start and in Stop, standing in for a
// group blocked in a call that no context reaches (open of a FIFO).
type stubborn struct {
	start   chan error // Start returns what arrives here
	stop    chan error
	stopped atomic.Int32
}

func (s *stubborn) Setup(*groupapi.Host) error { return nil }
func (s *stubborn) Start(context.Context) error {
	return <-s.start
}
func (s *stubborn) Stop(context.Context) error {
	s.stopped.Add(1)
	return <-s.stop
}
func (s *stubborn) Status() groupapi.Status { return groupapi.Status{Ready: true, Detail: "stubborn"} }

// within runs fn and fails the test when it has not returned after bound:
// the bound is what is under test, so a hang must fail, not stall.
func within(t *testing.T, bound time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatalf("%s did not return within %s", what, bound)
	}
}

// TestStartAllBoundsAStartThatIgnoresItsContext: the group is failed with
// the reason, the next group still starts, and StopAll neither waits for
// the abandoned start nor for a Stop that ignores its context.
func TestStartAllBoundsAStartThatIgnoresItsContext(t *testing.T) {
	ml := &stubborn{start: make(chan error), stop: make(chan error)}
	t.Cleanup(func() { close(ml.stop) }) // let the abandoned goroutines end
	llm := &fakeFeature{status: groupapi.Status{Ready: true, Detail: "fine"}}
	rt := New(map[string]groupapi.Feature{"ml": ml, "llm": llm}, facts("nomsgpack,ml,llm"), false)
	outcomes := map[string]error{}
	within(t, 10*time.Second, "StartAll", func() {
		rt.StartAll(context.Background(), func(g string, err error) { outcomes[g] = err }, 50*time.Millisecond)
	})
	if err := outcomes["ml"]; err == nil || !strings.Contains(err.Error(), "GROUP_START_TIMEOUT") {
		t.Fatalf("ml outcome: %v", err)
	}
	if st := rt.State("ml"); st.Ready || !strings.Contains(st.Detail, "did not finish within 50ms") {
		t.Fatalf("ml state: %+v", st)
	}
	if err, ok := outcomes["llm"]; !ok || err != nil || !rt.State("llm").Ready {
		t.Fatalf("llm after a stuck ml: %v %+v", err, rt.State("llm"))
	}

	// Still stuck at shutdown: nothing to stop.
	within(t, 10*time.Second, "StopAll", func() { rt.StopAll(context.Background(), func(string, error) {}) })
	if n := ml.stopped.Load(); n != 0 {
		t.Fatalf("Stop called %d times on a group still inside Start", n)
	}

	// The abandoned start returns at last, successfully: StopAll stops the
	// group, and a Stop that ignores its context is bounded by ctx.
	ml.start <- nil
	rt.mu.RLock()
	late := rt.abandoned["ml"]
	rt.mu.RUnlock()
	select {
	case <-late.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the released start never returned")
	}
	var stopErr error
	within(t, 10*time.Second, "StopAll", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		rt.StopAll(ctx, func(g string, err error) {
			if g == "ml" {
				stopErr = err
			}
		})
	})
	if ml.stopped.Load() != 1 || stopErr == nil || !strings.Contains(stopErr.Error(), "SHUTDOWN_TIMEOUT") {
		t.Fatalf("late start then stuck stop: stopped %d, %v", ml.stopped.Load(), stopErr)
	}
}

// TestStartAllReturnsWhenCancelled: shutdown during a stuck start does not
// wait for the group's bound.
func TestStartAllReturnsWhenCancelled(t *testing.T) {
	ml := &stubborn{start: make(chan error), stop: make(chan error)}
	t.Cleanup(func() { close(ml.start) })
	rt := New(map[string]groupapi.Feature{"ml": ml}, facts("nomsgpack,ml"), false)
	ctx, cancel := context.WithCancel(context.Background())
	var got error
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	within(t, 10*time.Second, "StartAll", func() {
		close(started)
		rt.StartAll(ctx, func(_ string, err error) { got = err }, time.Hour)
	})
	if got == nil || !strings.Contains(got.Error(), "shutting down") {
		t.Fatalf("outcome: %v", got)
	}
}

func TestRuntimeStates(t *testing.T) {
	f := facts("nomsgpack,ml", "gonum.org/v1/gonum")
	ml := &fakeFeature{status: groupapi.Status{Ready: true, Detail: "fine"}}
	rt := New(map[string]groupapi.Feature{"ml": ml}, f, false)
	if rt.Variant() != "custom" {
		t.Fatal(rt.Variant())
	}
	st := rt.State("ml")
	if !st.Linked || !st.Enabled || st.Ready || st.Detail != "starting" {
		t.Fatalf("before start: %+v", st)
	}
	rt.StartAll(context.Background(), func(string, error) {}, 1e9)
	st = rt.State("ml")
	if !st.Ready || st.Detail != "fine" || len(st.Modules) != 1 || st.Modules[0].Version != "v1.0.0" {
		t.Fatalf("after start: %+v", st)
	}
	if err := rt.SetDisabled("ml", true, "switched off by test"); err != nil {
		t.Fatal(err)
	}
	if st = rt.State("ml"); st.Enabled || st.Ready || st.Detail != "switched off by test" {
		t.Fatalf("disabled: %+v", st)
	}
	if err := rt.SetDisabled("llm", true, "x"); err == nil {
		t.Fatal("disabling an unlinked group accepted")
	}
	llm := rt.State("llm")
	if llm.Linked || llm.Enabled || len(llm.Modules) != 0 || !strings.Contains(llm.Detail, "not linked") {
		t.Fatalf("unlinked: %+v", llm)
	}
	if len(rt.States()) != len(groupspec.Groups()) {
		t.Fatal("States must list every declared group")
	}

	min := New(map[string]groupapi.Feature{"ml": ml}, f, true)
	if st := min.State("ml"); !st.Linked || st.Enabled || st.Ready || !strings.Contains(st.Detail, "MINIMAL_MODE") {
		t.Fatalf("minimal: %+v", st)
	}
}
