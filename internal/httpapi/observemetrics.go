package httpapi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/errorrate"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// Names of the metric families of the phase log and the error-rate window.
const (
	metricPhaseEvents    = "advanced_backend_phase_events_total"
	metricPhaseInfo      = "advanced_backend_phase_info"
	metricPhaseLastEvent = "advanced_backend_phase_last_event_timestamp_seconds"
	metricUptime         = "advanced_backend_uptime_seconds"
	metricErrorRate      = "advanced_backend_http_error_rate"
	metricWindowRequests = "advanced_backend_http_window_requests"
)

// observeCollector exports the phase log (the startup heartbeat) and the
// rolling per-route error rate. Everything is read at scrape time, so the
// values are never stale and nothing runs between scrapes.
type observeCollector struct {
	phase  *phase.Log
	cfg    *config.Config
	errors *errorrate.Window

	events, info, last, uptime, errRate, winReqs *prometheus.Desc
}

func newObserveCollector(pl *phase.Log, cfg *config.Config, w *errorrate.Window) *observeCollector {
	window := w.Length().String()
	return &observeCollector{
		phase:  pl,
		cfg:    cfg,
		errors: w,
		events: prometheus.NewDesc(metricPhaseEvents,
			"Phase events recorded since start, by kind (init, mode, group, server, phase, ...).", []string{"kind"}, nil),
		info: prometheus.NewDesc(metricPhaseInfo,
			"The current phase and run-time modes; always 1.", []string{"phase", "minimal_mode", "safe_mode", "structured_log"}, nil),
		last: prometheus.NewDesc(metricPhaseLastEvent,
			"Unix time of the most recent phase event.", nil, nil),
		uptime: prometheus.NewDesc(metricUptime,
			"Seconds since the process started.", nil, nil),
		errRate: prometheus.NewDesc(metricErrorRate,
			"Share of 5xx answers per route template over the rolling window (0 with no requests).", []string{"route"},
			prometheus.Labels{"window": window}),
		winReqs: prometheus.NewDesc(metricWindowRequests,
			"Requests per route template over the rolling window of the error rate.", []string{"route"},
			prometheus.Labels{"window": window}),
	}
}

func (o *observeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{o.events, o.info, o.last, o.uptime, o.errRate, o.winReqs} {
		ch <- d
	}
}

func (o *observeCollector) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range o.phase.Counts() {
		ch <- prometheus.MustNewConstMetric(o.events, prometheus.CounterValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(o.info, prometheus.GaugeValue, 1, o.phase.Phase(),
		strconv.FormatBool(o.cfg.MinimalMode), strconv.FormatBool(o.cfg.SafeMode), strconv.FormatBool(o.cfg.StructuredLog))
	if ev := o.phase.Last(1); len(ev) == 1 {
		ch <- prometheus.MustNewConstMetric(o.last, prometheus.GaugeValue, float64(ev[0].At.UnixNano())/float64(time.Second))
	}
	ch <- prometheus.MustNewConstMetric(o.uptime, prometheus.GaugeValue, o.phase.Uptime().Seconds())
	for _, r := range o.errors.Snapshot() {
		ch <- prometheus.MustNewConstMetric(o.errRate, prometheus.GaugeValue, r.Share, r.Route)
		ch <- prometheus.MustNewConstMetric(o.winReqs, prometheus.GaugeValue, float64(r.Requests), r.Route)
	}
}

// maxErrorRoutes bounds the routes of the error-rate window. Route keys are
// templates plus one shared key for unmatched paths, so real routers stay
// far below it; it guards against a router with generated routes.
const maxErrorRoutes = 1024

// initObservability creates the error-rate window and registers the phase
// and error-rate metrics.
func (s *Server) initObservability() error {
	w, err := errorrate.New(s.deps.Config.Observability.ErrorRateWindow, maxErrorRoutes, nil)
	if err != nil {
		return fmt.Errorf("error-rate window: %w", err)
	}
	s.errors = w
	if err := s.deps.Metrics.Register(newObserveCollector(s.deps.Phase, s.deps.Config, w)); err != nil {
		return fmt.Errorf("register phase and error-rate metrics: %w", err)
	}
	return nil
}
