package latency

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PrometheusBucketsSeconds are the classic buckets of
// http_request_duration_seconds: BucketEdgesMS in seconds.
func PrometheusBucketsSeconds() []float64 {
	out := make([]float64, len(BucketEdgesMS))
	for i, ms := range BucketEdgesMS {
		out[i] = ms / 1000
	}
	return out
}

type observer = prometheus.Observer

// promMetrics exports the engine. Observations happen on the ingestion
// goroutine, never on the request path; Collect drains the shards first,
// so a scrape sees every request recorded before it.
type promMetrics struct {
	e        *Engine
	hist     *prometheus.HistogramVec
	ema      *prometheus.GaugeVec
	dropped  *prometheus.Desc
	rejected *prometheus.Desc
	ingested *prometheus.Desc
}

func newPromMetrics(e *Engine, reg prometheus.Registerer) (*promMetrics, error) {
	m := &promMetrics{e: e,
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "http_request_duration_seconds",
			Help:                            "Request latency by method, route template and status class.",
			Buckets:                         PrometheusBucketsSeconds(),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"method", "route", "status_class"}),
		ema: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "http_request_duration_ema_p95_seconds",
			Help: "Exponential moving average of the p95 latency per route, updated at each sub-window rotation.",
		}, []string{"method", "route"}),
		dropped:  prometheus.NewDesc("latency_samples_dropped_total", "Latency samples dropped because a recording shard was full.", nil, nil),
		rejected: prometheus.NewDesc("latency_samples_rejected_total", "Latency samples rejected as NaN, infinite or negative.", nil, nil),
		ingested: prometheus.NewDesc("latency_samples_ingested_total", "Latency samples moved into the estimators.", nil, nil),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("register latency metrics: %w", err)
	}
	return m, nil
}

func (m *promMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.hist.Describe(ch)
	m.ema.Describe(ch)
	ch <- m.dropped
	ch <- m.rejected
	ch <- m.ingested
}

func (m *promMetrics) Collect(ch chan<- prometheus.Metric) {
	m.e.Flush()
	m.hist.Collect(ch)
	m.ema.Collect(ch)
	ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(m.e.Dropped()))
	ch <- prometheus.MustNewConstMetric(m.rejected, prometheus.CounterValue, float64(m.e.Rejected()))
	ch <- prometheus.MustNewConstMetric(m.ingested, prometheus.CounterValue, float64(m.e.Ingested()))
}

func (m *promMetrics) setEMA(s *series) {
	m.ema.WithLabelValues(s.route.Method, s.route.Path).Set(s.emaP95 / 1000)
}

func (s *series) observe(m *promMetrics, cls int, ms float64) {
	o := s.obs[cls]
	if o == nil {
		o = m.hist.WithLabelValues(s.route.Method, s.route.Path, statusClassNames[cls])
		s.obs[cls] = o
	}
	o.Observe(ms / 1000)
}
