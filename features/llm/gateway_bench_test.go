package llm

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/httpapi"
	"github.com/advanced-backend/advanced-backend/internal/service"
	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/testkit/proccpu"
)

// instantUpstream is an in-process OpenAI-compatible upstream that answers
// at once: a RoundTripper returning a fixed chat.completion, no network.
type instantUpstream struct{ body []byte }

func (u instantUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(u.body)),
		ContentLength: int64(len(u.body)), Request: r}, nil
}

var benchAnswer = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"fake-gpt","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(c int)           { d.code = c }

// The deadlines a real connection takes (the router sets per-request read
// and write deadlines), so the chain runs as it does in production.
func (d *discardWriter) SetReadDeadline(time.Time) error  { return nil }
func (d *discardWriter) SetWriteDeadline(time.Time) error { return nil }

// benchChain builds the service router (latency recording, request log,
// recovery, body limit, JWT, rate limiter, group gate and user guard in
// front of the group's routes) with the llm group linked, its upstream an
// instantUpstream, and a valid JWT.
func benchChain(b *testing.B) (*httpapi.Server, string) {
	const secret = "bench-secret-0123456789abcdef-0123456789"
	cfg := loadConfigB(b, map[string]string{
		"OPENAI_BASE_URL": "http://upstream.invalid/v1", "OPENAI_API_KEY": "k", "OPENAI_MODEL": "fake-gpt",
		"JWT_SECRET": secret, "RATE_LIMIT_RPS": "1000000", "RATE_LIMIT_BURST": "1000000", "LOG_LEVEL": "error",
	})
	f := newFeature(cfg.Group("llm"))
	svc, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
		map[string]groupapi.Feature{"llm": f}, capability.FactsFrom(&debug.BuildInfo{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	srv := svc.Server()
	if err := f.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	if err := f.connect(instantUpstream{benchAnswer}); err != nil {
		b.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "bench",
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString([]byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	return srv, tok
}

func benchPost(b *testing.B, h http.Handler, tok, path string) {
	body := []byte(`{"model":"openai/fake-gpt","messages":[{"role":"user","content":"bench"}]}`)
	w := &discardWriter{h: http.Header{}}
	req := httptest.NewRequest("POST", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(body)
	run := func() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	run()
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := proccpu.Used()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	reportCPU(b, cpu0)
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkV1ChatChain is one non-streamed /v1 chat through the whole
// middleware chain of the service router and the gateway, against an
// upstream that answers at once. The gateway's own cost is this minus
// BenchmarkV1UpstreamAlone; BenchmarkV1ChainOnly shows how much of the rest
// is the core middleware every route pays.
func BenchmarkV1ChatChain(b *testing.B) {
	srv, tok := benchChain(b)
	benchPost(b, srv.Handler(), tok, "/v1/chat/completions")
}

// BenchmarkV1ChainOnly is the same request through the same engine
// middleware to a handler that reads the body and answers the same bytes
// at once: the core chain without the gateway.
func BenchmarkV1ChainOnly(b *testing.B) {
	srv, tok := benchChain(b)
	srv.Engine().POST("/v1/bench-noop", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		c.Data(http.StatusOK, "application/json", benchAnswer)
	})
	benchPost(b, srv.Handler(), tok, "/v1/bench-noop")
}

// BenchmarkV1UpstreamAlone is the upstream's own time per call: the
// RoundTripper building its answer and the answer being read.
func BenchmarkV1UpstreamAlone(b *testing.B) {
	u := instantUpstream{benchAnswer}
	req := httptest.NewRequest("POST", "http://upstream.invalid/v1/chat/completions", nil)
	b.ReportAllocs()
	cpu0 := proccpu.Used()
	for b.Loop() {
		resp, _ := u.RoundTrip(req)
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	reportCPU(b, cpu0)
}

func reportCPU(b *testing.B, since time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(proccpu.Used()-since)/float64(b.N), "cpu-ns/op")
	}
}

func loadConfigB(b *testing.B, env map[string]string) *config.Config {
	b.Helper()
	return grouptest.Config(b, "llm", Settings(), env)
}
