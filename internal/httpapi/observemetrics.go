package httpapi

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// Names of the metric families of the phase log and the per-route error rate.
const (
	metricPhaseEvents    = "advanced_backend_phase_events_total"
	metricPhaseInfo      = "advanced_backend_phase_info"
	metricPhaseLastEvent = "advanced_backend_phase_last_event_timestamp_seconds"
	metricUptime         = "advanced_backend_uptime_seconds"
	metricErrorRate      = "advanced_backend_http_error_rate"
	metricWindowRequests = "advanced_backend_http_window_requests"
)

// observeCollector exports the phase log (the startup heartbeat) and the
// rolling per-route 5xx share. Everything is read at scrape time, so the
// values are never stale and nothing runs between scrapes. The error rate
// comes from the latency engine's per-route status counts over its sliding
// window: the same numbers as error_rate in /api/v2/latency/quantiles.
type observeCollector struct {
	phase *phase.Log
	cfg   *config.Config
	lat   *latency.Engine

	events, info, last, uptime, errRate, winReqs *prometheus.Desc
}

func newObserveCollector(pl *phase.Log, cfg *config.Config, lat *latency.Engine) *observeCollector {
	return &observeCollector{
		phase: pl,
		cfg:   cfg,
		lat:   lat,
		events: prometheus.NewDesc(metricPhaseEvents,
			"Phase events recorded since start, by kind (init, mode, auth, latency, group, server, phase, ...).", []string{"kind"}, nil),
		info: prometheus.NewDesc(metricPhaseInfo,
			"The current phase and run-time modes; always 1.", []string{"phase", "minimal_mode", "safe_mode", "structured_log"}, nil),
		last: prometheus.NewDesc(metricPhaseLastEvent,
			"Unix time of the most recent phase event.", nil, nil),
		uptime: prometheus.NewDesc(metricUptime,
			"Seconds since the process started.", nil, nil),
		errRate: prometheus.NewDesc(metricErrorRate,
			"Share of 5xx answers per route over the latency engine's sliding window (0 with no requests in it).", []string{"route"}, nil),
		winReqs: prometheus.NewDesc(metricWindowRequests,
			"Requests per route over the latency engine's sliding window.", []string{"route"}, nil),
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
	for _, r := range routeErrorRates(o.lat) {
		ch <- prometheus.MustNewConstMetric(o.errRate, prometheus.GaugeValue, r.share, r.route)
		ch <- prometheus.MustNewConstMetric(o.winReqs, prometheus.GaugeValue, float64(r.requests), r.route)
	}
}

// routeRate is one route's window counts.
type routeRate struct {
	_        [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	route    string
	requests uint64
	share    float64
}

// routeErrorRates reads every tracked route's window count and 5xx share
// from the engine, sorted by route.
func routeErrorRates(lat *latency.Engine) []routeRate {
	rep, err := lat.Quantiles(nil, "")
	if err != nil { // only a route filter can fail, and there is none
		return nil
	}
	out := make([]routeRate, 0, len(rep.Routes))
	for route, st := range rep.Routes {
		r := routeRate{route: route}
		r.requests, _ = st["count"].(uint64)
		r.share, _ = st["error_rate"].(float64) // nil with no requests: 0
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].route < out[j].route })
	return out
}

// initObservability registers the phase and error-rate metrics.
func (s *Server) initObservability() error {
	if err := s.deps.Metrics.Register(newObserveCollector(s.deps.Phase, s.deps.Config, s.lat)); err != nil {
		return fmt.Errorf("register phase and error-rate metrics: %w", err)
	}
	return nil
}
