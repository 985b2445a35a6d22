// Package probe starts a service binary on a loopback port, waits for its
// /health, reads /ml-capabilities and compares what it reports with what was
// expected and with the binary's own build info. backendctl's probe and sizes
// commands use it.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrExited reports that the process ended before /health answered 200.
var ErrExited = errors.New("process exited before /health answered")

// ErrNotReady reports that /health did not answer 200 within the timeout.
var ErrNotReady = errors.New("/health never answered 200")

// ErrPortInUse reports that the port was taken before the binary started:
// whatever answered there would not be the binary under test.
var ErrPortInUse = errors.New("port already in use")

// ErrNotOurs reports that /health answered from another process than the
// one started (its pid differs), such as one that took the port meanwhile.
var ErrNotOurs = errors.New("the service answering is not the process started")

// Process is a running service binary started by Start.
type Process struct {
	cmd     *exec.Cmd
	started time.Time
	base    string
	logs    *tail
	done    chan struct{}
	waitErr error
}

// Start runs `exe serve --addr addr`, with the inherited environment plus
// the extra KEY=VALUE pairs, and returns at once. The process's output is
// kept (the last 64 KiB) for Logs.
func Start(exe, addr string, extraEnv []string) (*Process, error) {
	return StartEmulated("", exe, addr, extraEnv)
}

// StartEmulated is Start through a user-mode emulator (for example
// qemu-aarch64-static, to run a linux/arm64 release binary on amd64): it runs
// `emulator exe serve --addr addr`. An empty emulator runs exe directly.
func StartEmulated(emulator, exe, addr string, extraEnv []string) (*Process, error) {
	if err := CheckPortFree(addr); err != nil {
		return nil, err
	}
	p := &Process{base: "http://" + addr, logs: &tail{max: 64 << 10}, done: make(chan struct{})}
	if emulator != "" {
		p.cmd = exec.Command(emulator, exe, "serve", "--addr", addr)
	} else {
		p.cmd = exec.Command(exe, "serve", "--addr", addr)
	}
	if len(extraEnv) > 0 {
		p.cmd.Env = append(p.cmd.Environ(), extraEnv...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Base is the process's base URL (http://host:port).
func (p *Process) Base() string { return p.base }

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Logs returns the end of what the process wrote.
func (p *Process) Logs() string { return p.logs.String() }

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// WaitHealthy polls /health every 10 ms until it answers 200 and returns the
// time from exec to that answer. It fails with ErrExited when the process
// ends first and ErrNotReady when timeout passes.
func (p *Process) WaitHealthy(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	return p.WaitHealthyEvery(ctx, timeout, 10*time.Millisecond)
}

// WaitHealthyEvery is WaitHealthy polling at the given interval (the
// resolution of the measured start time).
func (p *Process) WaitHealthyEvery(ctx context.Context, timeout, every time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if code, body, err := get(ctx, client, p.base+"/health"); err == nil && code == http.StatusOK {
			d := time.Since(p.started)
			if err := p.isOurs(body); err != nil {
				return 0, err
			}
			return d, nil
		}
		select {
		case <-p.done:
			return 0, fmt.Errorf("%w (%v)", ErrExited, p.waitErr)
		case <-ctx.Done():
			select {
			case <-p.done:
				return 0, fmt.Errorf("%w (%v)", ErrExited, p.waitErr)
			default:
			}
			return 0, fmt.Errorf("%w within %s", ErrNotReady, timeout)
		case <-tick.C:
		}
	}
}

// isOurs checks that a /health body comes from this process: the service
// reports its pid there.
func (p *Process) isOurs(health []byte) error {
	var h struct {
		PID *int `json:"pid"`
	}
	if err := json.Unmarshal(health, &h); err != nil || h.PID == nil {
		return fmt.Errorf("%w: %s/health has no pid, so it cannot be told apart from another service (started pid %d)", ErrNotOurs, p.base, p.PID())
	}
	if *h.PID != p.PID() {
		return fmt.Errorf("%w: %s/health reports pid %d, the started binary is pid %d", ErrNotOurs, p.base, *h.PID, p.PID())
	}
	return nil
}

// CheckPortFree fails with ErrPortInUse when addr cannot be listened on.
func CheckPortFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrPortInUse, addr, err)
	}
	return ln.Close()
}

// Stop asks the process to end (SIGTERM; a kill where signals do not exist)
// and kills it when it has not ended within grace.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("pid %d did not stop within %s of SIGTERM; killed", p.PID(), grace)
	}
}

// get fetches url and returns the status code and body (at most 8 MiB).
func get(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read %s: %w", url, err)
	}
	return resp.StatusCode, body, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
