package capability

import (
	"context"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

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
	rt := NewRuntime(map[string]groupapi.Feature{"ml": ml, "llm": llm}, facts("nomsgpack,ml,llm"), false)
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
	rt := NewRuntime(map[string]groupapi.Feature{"ml": ml}, facts("nomsgpack,ml"), false)
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
