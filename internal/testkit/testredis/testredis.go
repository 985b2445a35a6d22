// Package testredis runs a real redis-server for tests: on a random loopback
// port, without persistence, in a temporary directory, stopped when the
// test ends. Kill and Restart let tests take Redis away and bring it back on
// the same address. StartCluster (cluster.go) builds a Redis Cluster from
// such servers. Tool finds redis-server and redis-cli: without them the test
// is skipped naming them (internal/testkit/testtool); under TEST_STRICT=1 (`make
// test`, which installs them through scripts/test-deps.sh) that is a failure.
package testredis

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testtool"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// startTimeout bounds the wait for a fresh server to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0

	t     testing.TB
	port  int
	dir   string
	extra []string // more redis-server arguments (cluster mode)
	// password is required of clients (Do and Ping send AUTH first)
	password string
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start runs redis-server on a free loopback port and waits until it
// answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	return startServer(t, "")
}

// Tool returns the path of an external program the tests need
// (redis-server, redis-cli), or skips the test naming the package to
// install (a failure under TEST_STRICT=1). It is the one place these tools are looked up.
func Tool(t testing.TB, name string) string {
	t.Helper()
	return testtool.Need(t, name, testtool.GetRedis)
}

// startServer runs one server with extra arguments (cluster mode); a
// password, when given, is required of clients and used between nodes.
func startServer(t testing.TB, password string, extra ...string) *Server {
	t.Helper()
	bin := Tool(t, "redis-server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if password != "" {
		extra = append([]string{"--requirepass", password, "--masterauth", password}, extra...)
	}
	s := &Server{t: t, port: port, dir: t.TempDir(), extra: extra, password: password,
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.URL = "redis://" + s.Addr + "/0"
	s.start(bin)
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start(bin string) {
	s.t.Helper()
	args := append([]string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--protected-mode", "yes", "--loglevel", "warning"}, s.extra...)
	cmd := exec.Command(bin, args...)
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

// Ping sends PING over a raw connection and expects PONG.
func (s *Server) Ping() error {
	got, err := s.Do("PING")
	if err != nil {
		return err
	}
	if got != "PONG" {
		return fmt.Errorf("PING answered %q", got)
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

// Restart starts a fresh (empty) server on the same address after Kill; a
// cluster node keeps its cluster configuration (nodes.conf in its
// directory), so it rejoins with its id and slots.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start(Tool(s.t, "redis-server"))
}
