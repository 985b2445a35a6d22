package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8000": "127.0.0.1:8000",
		"0.0.0.0:8000":   "127.0.0.1:8000",
		":8000":          "127.0.0.1:8000",
		"[::]:8000":      "[::1]:8000",
		"[::1]:9":        "[::1]:9",
		"svc.local:80":   "svc.local:80",
	} {
		if got, err := probeAddr(in); err != nil || got != want {
			t.Errorf("probeAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:0", "nonsense"} {
		if got, err := probeAddr(bad); err == nil {
			t.Errorf("probeAddr(%q) = %q, want an error", bad, got)
		}
	}
}

// readyServer answers every connection on loopback with head and then body,
// one byte per gap (gap 0: all at once), until the client goes away or the
// server's own bound (10 s) ends. It stops when the test ends.
func readyServer(t *testing.T, head, body string, gap time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				// read the request's headers before answering
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				if _, err := io.WriteString(c, head); err != nil {
					return
				}
				if gap == 0 {
					_, _ = io.WriteString(c, body)
					return
				}
				tick := time.NewTicker(gap)
				defer tick.Stop()
				for i := 0; i < len(body); i++ {
					if _, err := c.Write([]byte{body[i]}); err != nil {
						return // the probe gave up
					}
					select {
					case <-tick.C:
					case <-done:
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestHealthcheckReadsTheBody: a 200 counts only with its body, a JSON
// readiness object received within the bound (issue 20 item 10: a 200
// whose body trickled in forever counted as ready).
func TestHealthcheckReadsTheBody(t *testing.T) {
	const ok200 = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
	good := `{"groups":[],"phase":"runtime","status":"ready"}`
	slow := strings.Repeat(" ", 200) + good // 248 bytes at one per 50 ms: 12 s, past the 3 s bound
	for _, tc := range []struct {
		name string
		body string
		gap  time.Duration
		want int
	}{
		{"ready body", good, 0, exitOK},
		{"trickled body", slow, 50 * time.Millisecond, exitFailed},
		{"not JSON", "ok", 0, exitFailed},
		{"empty", "", 0, exitFailed},
		{"no status", `{"phase":"runtime"}`, 0, exitFailed},
		{"says not ready", `{"status":"not_ready"}`, 0, exitFailed},
		{"cut short", good[:20], 0, exitFailed}, // declares more than it sends, then closes
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.body)
			if tc.name == "cut short" {
				n = len(good)
			}
			addr := readyServer(t, fmt.Sprintf(ok200, n), tc.body, tc.gap)
			var out, errb bytes.Buffer
			start := time.Now()
			code := healthcheck([]string{"--addr", addr}, &out, &errb)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, out.String(), errb.String())
			}
			// the probe keeps its own bound whatever the server does
			if d := time.Since(start); d > healthcheckTimeout+2*time.Second {
				t.Fatalf("healthcheck took %v, over its %v bound", d, healthcheckTimeout)
			}
		})
	}
}
