package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

func benchServer(b *testing.B) *Server {
	b.Helper()
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	rt := lifecycle.New(nil, capability.FactsFrom(&debug.BuildInfo{}), false)
	s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Phase: phase.New(nil),
		Groups: rt, Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

// discardWriter is a reusable http.ResponseWriter, so the in-process
// benchmarks measure the router and the middleware, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// serveLoop serves b.N requests in process. With flush set it moves the
// recorded samples into the estimators every 1024 requests with the timer
// stopped: ingestion runs off the request path (BenchmarkIngest in
// internal/latency measures its cost per sample), and flushing this often
// keeps every shard below half full, so the engine's goroutine is not
// woken to compete for the CPU.
func serveLoop(b *testing.B, h http.Handler, flush func()) {
	req := httptest.NewRequest("GET", "/ping", nil)
	w := &discardWriter{h: http.Header{}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(w, req)
		if flush != nil && i%1024 == 1023 {
			b.StopTimer()
			flush()
			b.StartTimer()
		}
	}
}

// BenchmarkLatencyMiddleware compares a bare gin handler with the same
// handler behind the latency middleware (two clock reads, route lookup,
// Record). The difference of the two is the middleware's cost on the
// request path.
func BenchmarkLatencyMiddleware(b *testing.B) {
	handler := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	b.Run("bare", func(b *testing.B) {
		e := gin.New()
		e.GET("/ping", handler)
		serveLoop(b, e, nil)
	})
	b.Run("recorded", func(b *testing.B) {
		s := benchServer(b)
		e := gin.New()
		e.Use(s.recordLatency())
		e.GET("/ping", handler)
		if err := s.lat.SetRoutes([]latency.Route{{Method: "GET", Path: "/ping"}}); err != nil {
			b.Fatal(err)
		}
		serveLoop(b, e, s.lat.Flush)
		b.StopTimer()
		s.lat.Flush()
		b.ReportMetric(float64(s.lat.Dropped())/float64(b.N), "dropped/op")
	})
}

// BenchmarkHealthLoopback measures /health throughput over loopback HTTP
// with keep-alive clients in parallel: "bare" serves the same handler on a
// bare gin engine, "full" the service's whole middleware chain (latency
// recording, recovery, body limit). Compare ns/op (or req/s) side by side.
func BenchmarkHealthLoopback(b *testing.B) {
	for _, name := range []string{"bare", "full"} {
		b.Run(name, func(b *testing.B) {
			s := benchServer(b)
			var h http.Handler = s.Handler()
			if name == "bare" {
				e := gin.New()
				e.GET("/health", s.health)
				h = e
			}
			ts := httptest.NewServer(h)
			defer ts.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(ts.URL + "/health")
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
