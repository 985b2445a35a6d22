package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds the whole probe: a container runtime runs it
// every few seconds, and a service that cannot answer /ready this fast is
// not ready.
const healthcheckTimeout = 3 * time.Second

// healthcheck asks the service at ADDR (read like serve reads it: the
// environment, then flags) whether it is ready, by GET /ready. It is what
// an image without a shell runs as its HEALTHCHECK. Exit 0 when ready, 1
// otherwise, bad settings included: Docker reserves exit 2.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig(args, stdout, stderr, exitFailed)
	if cfg == nil {
		return code
	}
	addr, err := probeAddr(cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "advanced-backend healthcheck: %v\n", err)
		return exitFailed
	}
	url := "http://" + addr + "/ready"
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	status, body, err := getReady(ctx, addr)
	if err != nil {
		fmt.Fprintf(stderr, "advanced-backend healthcheck: %s: %v\n", url, err)
		return exitFailed
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "advanced-backend healthcheck: %s: %d %s\n", url, status, readyMessage(body))
		return exitFailed
	}
	if err := checkReadyBody(body); err != nil {
		fmt.Fprintf(stderr, "advanced-backend healthcheck: %s: 200 but %v\n", url, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "ready: %s\n", url)
	return exitOK
}

// getReady sends one GET /ready over a plain connection and reads the
// answer with http.ReadResponse. Not http.Client: its Transport (HTTP/2,
// proxies, connection pools) is code lean links for nothing else, about
// 0.5 MiB of binary and of idle RSS in every variant; the probe needs one
// HTTP/1.1 request to this machine's own loopback, never through a proxy.
func getReady(ctx context.Context, addr string) (int, []byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return 0, nil, err
		}
	}
	if _, err := fmt.Fprintf(conn, "GET /ready HTTP/1.1\r\nHost: %s\r\nUser-Agent: advanced-backend-healthcheck\r\nConnection: close\r\n\r\n", addr); err != nil {
		return 0, nil, fmt.Errorf("send: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	defer resp.Body.Close()
	// The body counts as much as the status line: a 200 whose body does
	// not arrive within the bound is no answer (the deadline set above
	// cuts the read).
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReadyBody+1))
	if err != nil {
		return 0, nil, fmt.Errorf("read body (status %d): %w", resp.StatusCode, err)
	}
	if len(body) > maxReadyBody {
		return 0, nil, fmt.Errorf("body over %d bytes (status %d)", maxReadyBody, resp.StatusCode)
	}
	return resp.StatusCode, body, nil
}

// maxReadyBody bounds the /ready body the probe reads.
const maxReadyBody = 64 << 10

// checkReadyBody accepts the body of a 200 from /ready: one JSON object
// whose status is not "not_ready" (the service answers {"status":"ready",
// "phase":...,"groups":[...]}); anything else (empty, cut, not JSON) is a
// failure, since a server that says 200 but cannot say what it is ready
// for is not the service.
func checkReadyBody(body []byte) error {
	var b struct {
		Status *string `json:"status"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return fmt.Errorf("the body is not a JSON object (%d bytes): %v", len(body), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the body has data after its JSON object")
	}
	switch {
	case b.Status == nil:
		return errors.New("the body has no status")
	case *b.Status == "not_ready":
		return errors.New("the body says not_ready")
	}
	return nil
}

// probeAddr turns a listen address into one to dial: a wildcard or empty
// host (0.0.0.0, [::], ":8000") is reached on loopback of the same family.
func probeAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("ADDR %q: %w", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("ADDR %q has port 0: the service's port is not known", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port), nil
}

// readyMessage picks the error message out of a /ready 503 body.
func readyMessage(body []byte) string {
	var b struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil && b.Error.Message != "" {
		return b.Error.Message
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}
