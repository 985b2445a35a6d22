package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
)

// timeoutGroup serves routes that exercise the connection bounds.
type timeoutGroup struct {
	writeErr chan error // result of the endless writer
	pause    time.Duration
}

func (g *timeoutGroup) Setup(h *groupapi.Host) error {
	h.Routes.Handle("POST", "/api/v2/ml/echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if !apierr.ReadJSON(w, r, &v) {
			return
		}
		apierr.WriteJSON(w, r, 200, v)
	}))
	// endless writes until a write fails (the client does not read).
	h.Routes.Handle("GET", "/api/v2/ml/flood", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				g.writeErr <- err
				return
			}
		}
	}))
	// a streamed answer after the body, with gaps longer than the read and
	// write bounds: it must not be cut.
	h.Routes.Handle("POST", "/api/v2/ml/stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if !apierr.ReadJSON(w, r, &v) {
			return
		}
		w.WriteHeader(200)
		for _, part := range []string{"a", "b", "c"} {
			t := time.NewTimer(g.pause) // the gap under test, not synchronisation
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			if _, err := io.WriteString(w, part); err != nil {
				return
			}
			if err := http.NewResponseController(w).Flush(); err != nil {
				return
			}
		}
	}))
	return nil
}
func (g *timeoutGroup) Start(context.Context) error { return nil }
func (g *timeoutGroup) Stop(context.Context) error  { return nil }
func (g *timeoutGroup) Status() groupapi.Status     { return groupapi.Status{Ready: true} }

func runTimeouts(t *testing.T, env map[string]string) (*timeoutGroup, string) {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	g := &timeoutGroup{writeErr: make(chan error, 1), pause: 3 * cfg.HTTP.WriteTimeout}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		map[string]groupapi.Feature{"ml": g}, capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
	if err != nil {
		t.Fatal(err)
	}
	return g, strings.TrimPrefix(runOnLoopback(t, svc).base, "http://")
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// The client's own bound: the server must act well before it.
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// closedByServer reads until the server closes the connection; a client
// deadline first means the server held it.
func closedByServer(t *testing.T, c net.Conn, r *bufio.Reader, what string) {
	t.Helper()
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server still holds the connection after 10 s", what)
	}
}

func TestConnectionBounds(t *testing.T) {
	_, addr := runTimeouts(t, map[string]string{
		"HTTP_IDLE_TIMEOUT": "200ms", "HTTP_READ_TIMEOUT": "200ms", "HTTP_WRITE_TIMEOUT": "200ms"})

	t.Run("idle keep-alive closed", func(t *testing.T) {
		c := dial(t, addr)
		if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("health: %d close=%t", resp.StatusCode, resp.Close)
		}
		closedByServer(t, c, r, "idle keep-alive connection")
	})

	t.Run("slow body cut with 408", func(t *testing.T) {
		c := dial(t, addr)
		head := "POST /api/v2/ml/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("no answer to a stalled body: %v", err)
		}
		var body apierr.Body
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || body.Error.Code != "body_timeout" {
			t.Fatalf("stalled body: %d %+v", resp.StatusCode, body)
		}
		closedByServer(t, c, r, "connection with a stalled body")
	})

	t.Run("stream outlives the read and write bounds", func(t *testing.T) {
		resp, err := http.Post("http://"+addr+"/api/v2/ml/stream", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || string(b) != "abc" {
			t.Fatalf("stream: %d %q %v", resp.StatusCode, b, err)
		}
	})
}

func TestWriteBoundDropsAClientThatDoesNotRead(t *testing.T) {
	g, addr := runTimeouts(t, map[string]string{"HTTP_WRITE_TIMEOUT": "200ms"})
	c := dial(t, addr)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10) // fill the pipe sooner
	}
	if _, err := io.WriteString(c, "GET /api/v2/ml/flood HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select { // the client never reads
	case err := <-g.writeErr:
		if err == nil {
			t.Fatal("write failed without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a handler writing to a client that does not read was still blocked after 10 s")
	}
}
