package llm

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

// maxModelLabels bounds the model label: clients name models, so past this
// many distinct names further ones are counted as "other".
const maxModelLabels = 32

type metrics struct {
	duration *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	cache    *prometheus.CounterVec
	retries  *prometheus.CounterVec

	mu     sync.Mutex
	models map[string]bool
}

func newMetrics(reg groupapi.Metrics) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "advanced_backend_llm_upstream_duration_seconds",
			Help:    "Duration of upstream LLM requests (each attempt) by provider, model and outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"provider", "model", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_llm_tokens_total",
			Help: "Tokens used upstream by provider, model and kind (prompt, completion).",
		}, []string{"provider", "model", "kind"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_llm_cache_total",
			Help: "Shared response cache lookups by operation and result (hit, miss, error).",
		}, []string{"op", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_llm_upstream_retries_total",
			Help: "Retried upstream LLM requests by provider.",
		}, []string{"provider"}),
		models: map[string]bool{},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.duration, m.tokens, m.cache, m.retries} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) model(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.models[name] {
		return name
	}
	if len(m.models) >= maxModelLabels {
		return "other"
	}
	m.models[name] = true
	return name
}

func (m *metrics) observe(prov, model string, err error, d time.Duration) {
	m.duration.WithLabelValues(prov, m.model(model), provider.Outcome(err)).Observe(d.Seconds())
}

func (m *metrics) usage(prov, model string, u provider.Usage) {
	model = m.model(model)
	if u.PromptTokens > 0 {
		m.tokens.WithLabelValues(prov, model, "prompt").Add(float64(u.PromptTokens))
	}
	if u.CompletionTokens > 0 {
		m.tokens.WithLabelValues(prov, model, "completion").Add(float64(u.CompletionTokens))
	}
}
