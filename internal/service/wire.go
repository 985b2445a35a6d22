package service

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/httpapi"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// This file is the composition root's wiring: every core part is built
// here, offered to the groups through the typed services, handed to the
// router, and each group is set up on the host it declared. httpapi only
// builds routes and middleware from what it is handed.

// wiring is what one service is made of, besides the groups.
type wiring struct {
	cfg      *config.Config
	logger   *slog.Logger
	phase    *phase.Log
	metrics  *prometheus.Registry
	services *groupapi.Services
	rt       *lifecycle.Runtime
}

// build constructs the core parts, provides core's services and returns
// the router built from them, with every enabled group mounted.
func (w wiring) build() (*httpapi.Server, error) {
	eng, err := w.newLatency()
	if err != nil {
		return nil, err
	}
	st, err := auth.NewStack(w.cfg, w.metrics, nil)
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	lim := ratelimit.New(ratelimit.Options{
		RPS:        w.cfg.RateLimit.RPS,
		Burst:      w.cfg.RateLimit.Burst,
		MaxClients: w.cfg.RateLimit.MaxClients,
		Provided:   w.services.Limiter.Get, // a group's shared limiter, once provided
		Key:        httpapi.ClientKey,
		Exempt:     httpapi.ProbePaths(),
		Logger:     w.logger,
	})
	if err := lim.Register(w.metrics); err != nil {
		eng.Close()
		return nil, err
	}
	w.services.Latency.Provide(eng)
	w.services.ClusterMember.Provide(member{eng: eng, id: w.cfg.Cluster.ReplicaID, phase: w.phase})
	w.services.RateLimitOverrides.Provide(overrides{lim: lim, logger: w.logger, phase: w.phase})
	w.services.Switches.Provide(w.rt) // only a group that declares SwitchesKey gets it

	srv, err := httpapi.New(httpapi.Deps{Config: w.cfg, Logger: w.logger, Phase: w.phase, Groups: w.rt,
		Metrics: w.metrics, Services: w.services, Latency: eng, Auth: st, Limiter: lim})
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("build router: %w", err)
	}
	w.setupGroups(srv)
	if err := srv.Finish(); err != nil {
		srv.Close()
		return nil, err
	}
	return srv, nil
}

// newLatency builds the latency engine from the configuration and records
// in the phase log which estimator runs and why.
func (w wiring) newLatency() (*latency.Engine, error) {
	cfg := w.cfg.Latency
	eng, err := latency.New(latency.Options{
		Window:        cfg.Window,
		SubWindows:    cfg.SubWindows,
		Alpha:         cfg.EMAAlpha,
		FlushInterval: cfg.FlushInterval,
		ShardBuffer:   cfg.ShardBuffer,
		Estimator:     latency.Select(cfg.Compression, cfg.ReservoirSize),
		Metrics:       w.metrics,
	})
	if err != nil {
		return nil, fmt.Errorf("latency engine: %w", err)
	}
	info := eng.Info()
	msg := fmt.Sprintf("LATENCY: estimator %s (%s), window %s in %d sub-windows",
		info.Name, info.Reason, eng.Window(), cfg.SubWindows)
	if info.Fallback {
		w.phase.Warn("latency", msg)
	} else {
		w.phase.Info("latency", msg)
	}
	return eng, nil
}

// setupGroups gives each enabled group its host (its routes behind its
// gate, the core settings, the services it declared) and runs its Setup;
// the group's own settings were bound when it was constructed. A failure
// is recorded in the runtime, not returned: the service runs without that
// group.
func (w wiring) setupGroups(srv *httpapi.Server) {
	rt := w.rt
	for _, name := range rt.LinkedNames() {
		if !rt.Enabled(name) {
			continue // MINIMAL_MODE: the router answers 503 for its prefixes
		}
		f, _ := rt.Feature(name)
		h := &groupapi.Host{
			Core:     CoreOf(w.cfg),
			Logger:   w.logger.With("group", name),
			Phase:    w.phase,
			Metrics:  httpapi.GroupMetrics(w.metrics),
			Routes:   srv.GroupRoutes(name),
			Services: capability.UsesOf(name).View(w.services, name),
			Enabled:  func() bool { return rt.Enabled(name) },
		}
		if err := f.Setup(h); err != nil {
			rt.MarkFailed(name, fmt.Errorf("setup: %w", err))
			w.phase.Error("group", fmt.Sprintf("GROUP %s: setup failed: %v", name, err))
		}
	}
}

// CoreOf copies the core settings a group may follow out of a Config.
func CoreOf(c *config.Config) groupapi.Core {
	return groupapi.Core{
		MaxBodyBytes:   c.MaxBodyBytes,
		RateLimitRPS:   c.RateLimit.RPS,
		RateLimitBurst: c.RateLimit.Burst,
		Cluster: groupapi.ClusterSettings{PublishInterval: c.Cluster.PublishInterval, TTL: c.Cluster.TTL,
			MaxPublishBytes: c.Cluster.MaxPublishBytes},
	}
}

// member is core's groupapi.ClusterMember: the vector group's publisher
// reads this replica's window and applies cluster resets here.
type member struct {
	eng   *latency.Engine
	id    string
	phase *phase.Log
}

func (m member) ReplicaID() string { return m.id }

func (m member) ExportLatency(maxBytes int) ([]byte, error) { return m.eng.ExportCluster(maxBytes) }

func (m member) ResetLatency() {
	res := m.eng.Reset()
	m.phase.Info("latency", fmt.Sprintf("LATENCY: cluster-wide reset applied on replica %s, %d routes and %d samples cleared",
		m.id, res.ClearedRoutes, res.ClearedSamples))
}

// overrides is core's groupapi.RateLimitOverrides: a registry file
// (optional group) sets per-route limits through it.
type overrides struct {
	lim    *ratelimit.Middleware
	logger *slog.Logger
	phase  *phase.Log
}

func (o overrides) SetOverrides(in map[string]groupapi.RateOverride) {
	m := make(map[string]ratelimit.Override, len(in))
	for k, v := range in {
		m[k] = ratelimit.Override{RPS: v.RPS, Burst: v.Burst}
	}
	if err := o.lim.SetOverrides(m); err != nil {
		o.logger.Warn("rate-limit overrides partly rejected", "err", err)
	}
	o.phase.Info("ratelimit", fmt.Sprintf("RATELIMIT: %d per-route overrides in force", len(o.lim.Overrides())))
}
