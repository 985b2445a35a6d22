// Package testredis runs a real redis-server for tests: on a random loopback
// port, without persistence, in a temporary directory, stopped when the
// test ends. Kill and Restart let tests take Redis away and bring it back on
// the same address. Without redis-server on PATH the test is skipped naming
// it (internal/testtool); under TEST_STRICT=1 (`make test`, which installs
// it through scripts/test-deps.sh) that is a failure.
package testredis

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testtool"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// startTimeout bounds the wait for a fresh server to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0

	t    testing.TB
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs redis-server on a free loopback port and waits until it
// answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	// without redis-server: a skip naming it (a failure under TEST_STRICT=1)
	bin := testtool.Need(t, "redis-server", testtool.GetRedis)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{t: t, port: port, dir: t.TempDir(),
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.URL = "redis://" + s.Addr + "/0"
	s.start(bin)
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start(bin string) {
	s.t.Helper()
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--protected-mode", "yes", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if _, err := waitfor.Poll(startTimeout, func() (struct{}, bool) {
		select {
		case <-done:
			s.t.Fatalf("redis-server on port %d exited at start", s.port)
		default:
		}
		return struct{}{}, s.Ping() == nil
	}); err != nil {
		s.Kill()
		s.t.Fatalf("redis-server on port %d did not answer PING: %v", s.port, err)
	}
}

// Ping sends PING over a raw connection and expects +PONG.
func (s *Server) Ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Kill stops the server at once (SIGKILL) and waits for it to exit.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart starts a fresh (empty) server on the same address after Kill.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start(testtool.Need(s.t, "redis-server", testtool.GetRedis))
}
