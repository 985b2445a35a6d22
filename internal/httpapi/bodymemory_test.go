package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// rawPost opens a loopback connection to base and sends a request's head
// and the first part of its body; the rest never comes. The connection is
// closed when the test ends; the client's own 10 s deadline bounds reads.
func rawPost(t *testing.T, base, path, contentType string, declared int, sent string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, contentType, declared)
	if _, err := io.WriteString(c, head+sent); err != nil {
		t.Fatal(err)
	}
	return c
}

// answerOf reads the answer on c: status, headers and the JSON error.
func answerOf(t *testing.T, c net.Conn) (*http.Response, apierr.Detail) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	var b apierr.Body
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%d, not a JSON error: %q", resp.StatusCode, raw)
	}
	return resp, b.Error
}

// TestSlowBodyIs408OnEveryReader: a body that trickles past
// HTTP_READ_TIMEOUT is 408 body_timeout whichever way the route reads it
// (issue 20 item 6: /auth/token with a slow form or multipart body got a
// 400).
func TestSlowBodyIs408OnEveryReader(t *testing.T) {
	e := newSecServer(t, map[string]string{"JWT_SECRET": secSecret, "USERS_FILE": writeUsersFile(t),
		"RATE_LIMIT_RPS": "0", "HTTP_READ_TIMEOUT": "300ms"})
	for _, tc := range []struct{ ctype, sent string }{
		{"application/json", `{"username":"ali`},
		{"application/x-www-form-urlencoded", "username=ali"},
		{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nali"},
	} {
		c := rawPost(t, e.base, "/auth/token", tc.ctype, 500, tc.sent)
		resp, d := answerOf(t, c)
		if resp.StatusCode != http.StatusRequestTimeout || d.Code != "body_timeout" {
			t.Errorf("%s: %d %+v", tc.ctype, resp.StatusCode, d)
		}
	}
}

// TestBodyMemoryBound: bytes are reserved as read, not as declared; once
// the bodies in flight hold REQUEST_BODY_MEMORY_MAX_BYTES, a request that
// reads its body gets 503 with Retry-After; when they end it is served.
func TestBodyMemoryBound(t *testing.T) {
	e := newSecServer(t, map[string]string{"JWT_SECRET": secSecret, "USERS_FILE": writeUsersFile(t),
		"RATE_LIMIT_RPS": "0", "MAX_BODY_BYTES": "8192", "REQUEST_BODY_MEMORY_MAX_BYTES": "8192"})
	budget := e.s.BodyBudget()
	// declares 8192 and sends 10 bytes: holds 10, not 8192
	small := rawPost(t, e.base, "/auth/token", "application/json", 8192, `{"username`)
	waitfor.True(t, 5*time.Second, "10 bytes held", func() bool { return budget.InUse() == 10 })
	small.Close()
	waitfor.True(t, 5*time.Second, "the bytes released", func() bool { return budget.InUse() == 0 })

	// one body that holds the whole budget
	hog := rawPost(t, e.base, "/auth/token", "application/json", 8192, `{"username":"`+strings.Repeat("a", 8192-14)) // one byte short of its declared length
	waitfor.True(t, 5*time.Second, "the budget held", func() bool { return budget.InUse() == 8192-1 })
	r := e.do(t, nil, "POST", "/auth/token", map[string]string{"Content-Type": "application/json"}, `{"username":"alice","password":"alice-pw"}`)
	if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") != "1" {
		t.Fatalf("over the bound: %d %v %v", r.code, r.hdr, r.body)
	}
	if d, _ := r.body["error"].(map[string]any); d["code"] != "body_memory_exhausted" {
		t.Fatalf("over the bound: %v", r.body)
	}
	if budget.Refused() < 1 {
		t.Fatalf("refusals not counted: %d", budget.Refused())
	}
	// a route that reads no body is not affected
	if r := e.do(t, nil, "GET", "/health", nil, ""); r.code != 200 {
		t.Fatalf("health while the budget is held: %d", r.code)
	}
	hog.Close()
	waitfor.True(t, 5*time.Second, "the budget released", func() bool { return budget.InUse() == 0 })
	if r := e.do(t, nil, "POST", "/auth/token", map[string]string{"Content-Type": "application/json"}, `{"username":"alice","password":"alice-pw"}`); r.code != 200 {
		t.Fatalf("after release: %d %v", r.code, r.body)
	}
	resp, err := http.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"advanced_backend_request_body_bytes_in_flight 0", "advanced_backend_request_body_bytes_max 8192", "advanced_backend_request_body_refused_total 1"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
