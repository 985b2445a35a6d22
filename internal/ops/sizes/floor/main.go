// Command floor is the bare gin server `backendctl sizes --floor` measures
// lean against: the libraries lean's core links (gin, client_golang, jwt,
// tdigest), each doing the least a service with them does (a recovering gin
// router, a Prometheus registry with the Go and process collectors and a
// request histogram, an HS256 bearer-token check, a t-digest of request
// times), and nothing of the service's own. What lean costs above this
// binary (size, start time, idle memory) is the price of the service's own
// code; the issue that introduced it (21) holds lean's start within 1.15x.
//
// It takes the arguments backendctl gives the service (`serve --addr
// ADDR`) and answers /health with its pid, so backendctl can tell it from
// another process on the port.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/caio/go-tdigest/v4"
	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "serve" || os.Args[2] != "--addr" {
		fmt.Fprintln(os.Stderr, "usage: floor serve --addr HOST:PORT")
		os.Exit(2)
	}
	if err := run(os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: router(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "floor_request_duration_seconds", Help: "Request durations by route.",
	}, []string{"route"})
	reg.MustRegister(hist)

	var mu sync.Mutex // guards td
	td, err := tdigest.New()
	if err != nil {
		panic(err) // only for invalid options, and none are given
	}
	r.Use(func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start).Seconds()
		hist.WithLabelValues(c.FullPath()).Observe(d)
		mu.Lock()
		_ = td.Add(d) // fails only for NaN and infinities, which a duration is not
		mu.Unlock()
	})

	r.GET("/health", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok", "pid": os.Getpid()})
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	r.GET("/latency", func(c *gin.Context) {
		mu.Lock()
		p50, p99 := td.Quantile(0.5), td.Quantile(0.99)
		mu.Unlock()
		c.JSON(http.StatusOK, gin.H{"p50": p50, "p99": p99})
	})
	secret := []byte(os.Getenv("JWT_SECRET"))
	r.GET("/me", func(c *gin.Context) {
		raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || len(secret) == 0 {
			c.JSON(http.StatusUnauthorized, gin.H{"error": "no token"})
			return
		}
		tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return secret, nil },
			jwt.WithValidMethods([]string{"HS256"}))
		if err != nil {
			c.JSON(http.StatusUnauthorized, gin.H{"error": err.Error()})
			return
		}
		c.JSON(http.StatusOK, tok.Claims)
	})
	return r
}
