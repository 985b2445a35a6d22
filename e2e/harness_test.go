// Package e2e holds the tests that build real binaries of each variant and
// talk to them over loopback, and the dependency-graph tests. Binaries are
// built once per test process into a temporary directory.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

const repoRoot = ".."

var (
	binDir   string
	buildMu  sync.Mutex
	binaries = map[string]string{}
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// -short is the inner loop: no variant builds, no external tools;
		// every test here builds or runs real binaries.
		fmt.Println("e2e: skipped under -short (every test builds or runs variant binaries)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "advanced-backend-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// variantTags returns the tags of a declared variant, or of the extra
// "notdigest" build (lean with the reservoir estimator).
func variantTags(t testing.TB, variant string) []string {
	t.Helper()
	if variant == "notdigest" {
		return append(variantTags(t, "lean"), "notdigest")
	}
	tags, err := groupspec.VariantTags(variant)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// buildVariant builds a variant the way the Makefile does and returns the
// binary's path.
func buildVariant(t testing.TB, variant string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := binaries[variant]; ok {
		return p
	}
	out := filepath.Join(binDir, variant, "advanced-backend")
	pkg := "github.com/advanced-backend/advanced-backend/internal/version"
	cmd := exec.Command("go", "build", "-trimpath",
		"-tags", strings.Join(variantTags(t, variant), ","),
		"-ldflags", "-s -w -X "+pkg+".Version=v0.0.0-e2e -X "+pkg+".Commit=e2etest",
		"-o", out, "./cmd/advanced-backend")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", variant, err, b)
	}
	binaries[variant] = out
	return out
}

// proc is a running service binary.
type proc struct {
	cmd  *exec.Cmd
	Base string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan error
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Logs returns what the process wrote so far.
func (p *proc) Logs() string { p.mu.Lock(); defer p.mu.Unlock(); return p.logs.String() }

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startBinary runs bin serve on a free loopback port with the given extra
// environment and waits (bounded) for /health. The process is stopped with
// SIGTERM at the end of the test.
func startBinary(t testing.TB, bin string, env ...string) *proc {
	t.Helper()
	port := freePort(t)
	p := &proc{logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1),
		Base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.cmd = exec.Command(bin, "serve")
	base := []string{"PATH=" + os.Getenv("PATH"), fmt.Sprintf("ADDR=127.0.0.1:%d", port)}
	// a variant with the vector group gets a data directory of its own (env
	// may name another); others must not see the setting (it would be an
	// ignored setting of an unlinked group)
	if tags, err := groupspec.VariantTags(filepath.Base(filepath.Dir(bin))); err == nil && slices.Contains(tags, "vector") {
		base = append(base, "VECTOR_DATA_DIR="+t.TempDir())
	}
	p.cmd.Env = append(base, env...)
	w := lockedBuffer{p.mu, p.logs}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.Stop(t) })
	if _, err := waitfor.Poll(15*time.Second, func() (struct{}, bool) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited before /health answered: %v\n%s", bin, err, p.Logs())
		default:
		}
		resp, err := http.Get(p.Base + "/health")
		if err != nil {
			return struct{}{}, false
		}
		resp.Body.Close()
		return struct{}{}, resp.StatusCode == 200
	}); err != nil {
		t.Fatalf("%s: /health never answered (%v)\n%s", bin, err, p.Logs())
	}
	return p
}

// Stop sends SIGTERM and waits (bounded) for the process; it returns the
// exit error (nil for exit 0).
func (p *proc) Stop(t testing.TB) error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("process did not stop within 15 s after SIGTERM\n%s", p.Logs())
		return <-p.done
	}
}

// get fetches path and decodes a JSON body into v (when v is not nil).
func (p *proc) get(t testing.TB, method, path string, v any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, p.Base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode
}

// runExit runs cmd, killed after bound, and returns its exit code and
// combined output; a command that cannot run at all fails the test.
func runExit(t *testing.T, cmd *exec.Cmd, bound time.Duration) (int, string) {
	t.Helper()
	cmd.WaitDelay = 5 * time.Second
	timer := time.AfterFunc(bound, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	return -1, ""
}
