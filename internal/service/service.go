// Package service is the composition root: it wires one process together
// (configuration, logging, the phase log, the groups' lifecycle.Runtime, metrics,
// the latency engine, auth, the limiter, the typed services, each group's
// host and Setup, the HTTP router: wire.go) and runs the lifecycle (listen
// first, start groups after, shut down gracefully).
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/httpapi"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// Service is one running instance.
type Service struct {
	cfg    *config.Config
	logger *slog.Logger
	phase  *phase.Log
	rt     *lifecycle.Runtime
	server *httpapi.Server
	// services are the typed meeting points of this service's parts.
	services *groupapi.Services
	// fatal carries a group start error marked groupapi.ErrFatal.
	fatal chan error
}

// NewLogger returns the process logger: JSON lines with STRUCTURED_LOG,
// text otherwise.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = phase.NewTextHandler(w, opts) // slog's, with HEAVY_DEPENDENCIES_STATUS's JSON unescaped
	if cfg.StructuredLog {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("replica", cfg.Cluster.ReplicaID)
}

// New assembles the service from fresh instances of the linked groups
// (capability.Instantiate). It does no network
// I/O, so it is as fast as start-up needs to be.
func New(cfg *config.Config, logger *slog.Logger, features map[string]groupapi.Feature, facts capability.BuildFacts) (*Service, error) {
	pl := phase.New(logger)
	pl.Info("init", "INIT: process start")
	rt := lifecycle.New(features, facts, cfg.MinimalMode)
	if cfg.MinimalMode {
		pl.Warn("mode", "INIT: MINIMAL_MODE active - linked groups are not started")
	}
	reportSettings(cfg, rt, pl)
	for _, g := range cfg.ReadyRequire {
		if !rt.Linked(g) {
			// /ready could never be 200: refuse to start instead of failing every probe.
			return nil, &config.Error{Var: "READY_REQUIRE", Value: strings.Join(cfg.ReadyRequire, ","), Err: fmt.Errorf(
				"group %s is not linked into the %s variant (linked: [%s])", g, rt.Variant(), strings.Join(rt.LinkedNames(), " "))}
		}
	}

	linked := rt.LinkedNames()
	phase.LogHeavyDependencies(logger, capability.HeavyDependencies(linked))
	pl.Info("init", fmt.Sprintf("INIT: variant %s, groups [%s]", rt.Variant(), strings.Join(linked, " ")))
	for _, p := range capability.CrossCheck(linked, facts) {
		pl.Error("capability", "CAPABILITY MISMATCH: "+p)
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	services := &groupapi.Services{}
	srv, err := wiring{cfg: cfg, logger: logger, phase: pl, metrics: reg, services: services, rt: rt}.build()
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, logger: logger, phase: pl, rt: rt, server: srv, services: services, fatal: make(chan error, 1)}, nil
}

// Server returns the HTTP server (for tests and the capabilities subcommand).
func (s *Service) Server() *httpapi.Server { return s.server }

// Close stops the background work the server owns (the latency engine's
// ingestion). Run calls it at shutdown; call it when a Service is built
// but never run. It is safe to call more than once.
func (s *Service) Close() { s.server.Close() }

// Phase returns the phase log.
func (s *Service) Phase() *phase.Log { return s.phase }

// Run serves on ln, starts the groups, and blocks until ctx is done; then it
// stops accepting, lets in-flight requests finish and stops the groups, all
// within SHUTDOWN_TIMEOUT: a group still inside Start or Stop is abandoned
// at its bound, so Run returns in every phase.
func (s *Service) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.server.Handler(),
		ReadHeaderTimeout: s.cfg.HTTP.ReadHeaderTimeout,
		// Body and write deadlines are set per request (httpapi's
		// connDeadlines): server-wide ones would cut streamed answers.
		IdleTimeout: s.cfg.HTTP.IdleTimeout,
		ErrorLog:    slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	s.phase.Info("server", "SERVER: listening on "+ln.Addr().String())

	groupCtx, cancelGroups := context.WithCancel(ctx)
	startDone := make(chan struct{})
	go func() {
		defer close(startDone)
		s.startGroups(groupCtx)
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case err = <-s.fatal:
	}
	// SHUTDOWN_TIMEOUT bounds everything from here on, the drain included.
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	cancelGroups()
	<-startDone

	if err == nil && s.cfg.ShutdownDrain > 0 {
		s.drain(shutCtx, serveErr)
	}
	s.phase.Info("server", "SHUTDOWN: closing the listener, finishing in-flight requests")
	if serr := hs.Shutdown(shutCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		s.logger.Warn("shutdown did not drain in time; closing the remaining connections", "err", serr)
		_ = hs.Close() // Shutdown leaves active connections open when its context ends
	}
	s.rt.StopAll(shutCtx, func(group string, err error) {
		if err != nil {
			s.logger.Warn("group stop failed", "group", group, "err", err)
		}
	})
	s.Close()
	s.phase.Info("server", "SHUTDOWN: done")
	return err
}

// drain is the first step of a graceful shutdown: /ready answers 503 and
// every answer closes its connection, while the listener keeps accepting and
// every route keeps serving for SHUTDOWN_DRAIN, the time a load balancer
// needs to stop sending (and to let its idle keep-alive connections expire).
// It ends early only if the server itself fails.
func (s *Service) drain(ctx context.Context, serveErr <-chan error) {
	s.server.StartDrain()
	s.phase.Info("server", fmt.Sprintf("SHUTDOWN: draining for %s (SHUTDOWN_DRAIN): /ready answers 503, requests are still served", s.cfg.ShutdownDrain))
	t := time.NewTimer(s.cfg.ShutdownDrain)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case err := <-serveErr:
		s.logger.Warn("server failed while draining", "err", err)
	}
}

// startGroups starts each enabled group with its own deadline
// (GROUP_START_TIMEOUT, enforced whatever the group does), then moves the
// service to the runtime phase; it returns at once when ctx ends.
func (s *Service) startGroups(ctx context.Context) {
	s.rt.StartAll(ctx, func(group string, err error) {
		if err != nil {
			s.phase.Error("group", fmt.Sprintf("GROUP %s: start failed: %v", group, err))
			if errors.Is(err, groupapi.ErrFatal) {
				select {
				case s.fatal <- fmt.Errorf("group %s: %w", group, err):
				default:
				}
			}
			return
		}
		st := s.rt.State(group)
		s.phase.Info("group", fmt.Sprintf("GROUP %s: started (ready=%t: %s)", group, st.Ready, st.Detail))
	}, s.cfg.GroupStartTimeout)
	if ctx.Err() == nil {
		s.phase.SetPhase(phase.Runtime)
	}
}
