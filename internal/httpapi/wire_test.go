package httpapi

import (
	"fmt"

	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// wire builds fresh parts from d.Config the way the composition root
// (internal/service/wire.go, which this package cannot import) does, hands
// them to New, sets up the groups of d.Groups and finishes the router. The
// service's own tests cover its wiring; this lets the router's tests run on
// the real parts without a service.
func wire(d Deps) (*Server, error) {
	cfg := d.Config.Latency
	eng, err := latency.New(latency.Options{Window: cfg.Window, SubWindows: cfg.SubWindows, Alpha: cfg.EMAAlpha,
		FlushInterval: cfg.FlushInterval, ShardBuffer: cfg.ShardBuffer,
		Estimator: latency.Select(cfg.Compression, cfg.ReservoirSize), Metrics: d.Metrics})
	if err != nil {
		return nil, err
	}
	st, err := auth.NewStack(d.Config, d.Metrics, nil)
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	if d.Services == nil {
		d.Services = &groupapi.Services{}
	}
	lim := ratelimit.New(ratelimit.Options{RPS: d.Config.RateLimit.RPS, Burst: d.Config.RateLimit.Burst,
		MaxClients: d.Config.RateLimit.MaxClients, Provided: d.Services.Limiter.Get, Key: ClientKey,
		Exempt: ProbePaths(), Logger: d.Logger})
	if err := lim.Register(d.Metrics); err != nil {
		eng.Close()
		return nil, err
	}
	d.Services.Latency.Provide(eng)
	d.Services.RateLimitOverrides.Provide(testOverrides{lim})
	d.Latency, d.Auth, d.Limiter = eng, st, lim
	s, err := New(d)
	if err != nil {
		eng.Close()
		return nil, err
	}
	rt := d.Groups
	for _, name := range rt.LinkedNames() {
		if !rt.Enabled(name) {
			continue
		}
		f, _ := rt.Feature(name)
		h := &groupapi.Host{Core: groupapi.Core{MaxBodyBytes: d.Config.MaxBodyBytes}, Logger: d.Logger.With("group", name),
			Phase: d.Phase, Metrics: GroupMetrics(d.Metrics), Routes: s.GroupRoutes(name),
			Services: capability.UsesOf(name).View(d.Services, name), Enabled: func() bool { return rt.Enabled(name) }}
		if err := f.Setup(h); err != nil {
			rt.MarkFailed(name, fmt.Errorf("setup: %w", err))
		}
	}
	if err := s.Finish(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

type testOverrides struct{ lim *ratelimit.Middleware }

func (o testOverrides) SetOverrides(in map[string]groupapi.RateOverride) {
	m := make(map[string]ratelimit.Override, len(in))
	for k, v := range in {
		m[k] = ratelimit.Override{RPS: v.RPS, Burst: v.Burst}
	}
	_ = o.lim.SetOverrides(m)
}
