//go:build unix

// A blocked start is made with a named pipe and ended with SIGTERM and
// SIGINT: Unix only (the Windows job of ci.yml vets every package).

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// waitExit waits at most bound for the process to end and returns its
// exit error; it fails the test (and kills the process) past the bound.
func (p *proc) waitExit(t *testing.T, bound time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(bound):
		_ = p.cmd.Process.Kill()
		t.Fatalf("process still running %s after the signal\n%s", bound, p.Logs())
		return nil
	}
}

// TestGroupStartBoundedAndSignalsEndEveryPhase: a registry file that is a
// FIFO with no writer blocks the optional group's start in open(2), which
// no context reaches. GROUP_START_TIMEOUT still ends the start (the group
// is reported not ready with the reason, the phase moves to runtime), and
// SIGTERM or SIGINT ends the process within SHUTDOWN_TIMEOUT both then and
// while the start is still blocked (phase early).
func TestGroupStartBoundedAndSignalsEndEveryPhase(t *testing.T) {
	bin := buildVariant(t, "full")
	fifo := filepath.Join(t.TempDir(), "registry.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The bound checked below: SHUTDOWN_TIMEOUT plus slack for the exit of
	// a process on a loaded machine. Before the fix the process never ended.
	const shutdown = 2 * time.Second
	const slack = 5 * time.Second

	t.Run("runtime", func(t *testing.T) {
		p := startBinary(t, bin, "REGISTRY_FILE="+fifo, "GROUP_START_TIMEOUT=1s", "SHUTDOWN_TIMEOUT=2s")
		waitfor.True(t, 20*time.Second, "the runtime phase after the start timeout", func() bool {
			var h map[string]any
			p.get(t, "GET", "/health", &h)
			return h["phase"] == "runtime"
		})
		var caps struct {
			Groups map[string]struct {
				Ready  bool
				Detail string
			}
		}
		p.get(t, "GET", "/ml-capabilities", &caps)
		opt := caps.Groups["optional"]
		if opt.Ready || !strings.Contains(opt.Detail, "did not finish within 1s (GROUP_START_TIMEOUT)") {
			t.Fatalf("optional after the start timeout: %+v", opt)
		}
		var hb struct{ Events []struct{ Msg string } }
		p.get(t, "GET", "/startup/heartbeat?n=200", &hb)
		found := false
		for _, e := range hb.Events {
			found = found || strings.Contains(e.Msg, "GROUP optional: start failed: start did not finish within 1s")
		}
		if !found {
			t.Fatalf("no timeout event in the heartbeat: %+v", hb.Events)
		}
		// optional is not required (READY_REQUIRE): the group that cannot
		// serve is named in the 200, the replica stays in service.
		var ready struct {
			NotReady []struct{ Group string } `json:"not_ready"`
		}
		if code := p.get(t, "GET", "/ready", &ready); code != 200 || len(ready.NotReady) != 1 || ready.NotReady[0].Group != "optional" {
			t.Fatalf("/ready: %d %+v", code, ready)
		}
		start := time.Now()
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.waitExit(t, shutdown+slack); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
		}
		t.Logf("runtime phase: exit %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	})

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run("early/"+sig.String(), func(t *testing.T) {
			p := startBinary(t, bin, "REGISTRY_FILE="+fifo, "GROUP_START_TIMEOUT=1h", "SHUTDOWN_TIMEOUT=2s")
			var h map[string]any
			if p.get(t, "GET", "/health", &h); h["phase"] != "early" {
				t.Fatalf("phase: %v", h)
			}
			var caps struct {
				Groups map[string]struct{ Detail string }
			}
			p.get(t, "GET", "/ml-capabilities", &caps)
			if d := caps.Groups["optional"].Detail; d != "starting" {
				t.Fatalf("optional is not blocked in its start: %q", d)
			}
			_ = p.cmd.Process.Signal(sig)
			if err := p.waitExit(t, shutdown+slack); err != nil {
				t.Fatalf("exit after %s: %v\n%s", sig, err, p.Logs())
			}
			if !strings.Contains(p.Logs(), "start abandoned: shutting down") {
				t.Errorf("the log does not say the start was abandoned:\n%s", p.Logs())
			}
		})
	}
	_ = os.Remove(fifo)
}
