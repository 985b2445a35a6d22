package httpapi

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/version"
)

// groupCollector exports one gauge per group and state, read from the
// runtime at scrape time so it never goes stale.
type groupCollector struct {
	rt      *lifecycle.Runtime
	linked  *prometheus.Desc
	enabled *prometheus.Desc
	ready   *prometheus.Desc
	// degraded: serving with a graceful fallback (groupapi.Status).
	degraded *prometheus.Desc
}

func (g *groupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.linked
	ch <- g.enabled
	ch <- g.ready
	ch <- g.degraded
}

func (g *groupCollector) Collect(ch chan<- prometheus.Metric) {
	for name, st := range g.rt.States() {
		ch <- prometheus.MustNewConstMetric(g.linked, prometheus.GaugeValue, b2f(st.Linked), name)
		ch <- prometheus.MustNewConstMetric(g.enabled, prometheus.GaugeValue, b2f(st.Enabled), name)
		ch <- prometheus.MustNewConstMetric(g.ready, prometheus.GaugeValue, b2f(st.Ready), name)
		ch <- prometheus.MustNewConstMetric(g.degraded, prometheus.GaugeValue, b2f(st.Degraded), name)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func registerCoreMetrics(reg prometheus.Registerer, rt *lifecycle.Runtime, cfg *config.Config) error {
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "advanced_backend_build_info",
		Help: "Build information of the running binary; always 1.",
		ConstLabels: prometheus.Labels{
			"variant":    rt.Variant(),
			"tags":       strings.Join(rt.Facts().Tags, ","),
			"version":    version.Full(rt.LinkedNames()),
			"go_version": rt.Facts().GoVersion,
			"replica":    cfg.Cluster.ReplicaID,
		},
	})
	info.Set(1)
	gc := &groupCollector{
		rt:      rt,
		linked:  prometheus.NewDesc("advanced_backend_group_linked", "Whether the group is linked into this binary (1) or not (0).", []string{"group"}, nil),
		enabled: prometheus.NewDesc("advanced_backend_group_enabled", "Whether the linked group is enabled (not MINIMAL_MODE, not switched off).", []string{"group"}, nil),
		ready:   prometheus.NewDesc("advanced_backend_group_ready", "Whether the group reports itself ready.", []string{"group"}, nil),
		degraded: prometheus.NewDesc("advanced_backend_group_degraded",
			"Whether the group serves without a dependency it falls back from (Redis down, no LLM key, Qdrant unreachable); /ready stays 200 unless READY_REQUIRE names it.",
			[]string{"group"}, nil),
	}
	for _, c := range []prometheus.Collector{info, gc} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register core metrics: %w", err)
		}
	}
	return nil
}
