package latency

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// DefaultQuantiles are reported for every series.
var DefaultQuantiles = []float64{0.5, 0.9, 0.95, 0.99}

// MaxExtraQuantiles bounds the extra quantiles of one request.
const MaxExtraQuantiles = 16

// Stats is one series' quantile view: "count", "p50", "p90", "p95",
// "p99" and any extra quantile ("p99.9"), null where there is no data.
// Route entries also carry "status" (counts by class) and "error_rate"
// (the 5xx share, null with count 0).
type Stats map[string]any

// QuantileReport is the body of GET /api/v2/latency/quantiles.
type QuantileReport struct {
	Unit          string              `json:"unit"`
	WindowSeconds float64             `json:"window_seconds"`
	SubWindows    int                 `json:"subwindows"`
	Estimator     capreport.Estimator `json:"estimator"`
	Overall       Stats               `json:"overall"`
	Routes        map[string]Stats    `json:"routes"`
	Lifetime      LifetimeReport      `json:"lifetime"`
	TrackedRoutes int                 `json:"tracked_routes"`
	Dropped       uint64              `json:"dropped_samples"`
	Rejected      uint64              `json:"rejected_samples"`
}

// LifetimeReport covers everything since start or the last reset.
type LifetimeReport struct {
	Overall Stats            `json:"overall"`
	Routes  map[string]Stats `json:"routes"`
}

// Dist is one series' distribution view.
type Dist struct {
	Count       uint64             `json:"count"`
	Buckets     []uint64           `json:"buckets"`
	EMAP95      *float64           `json:"ema_p95"`
	EMAP50      *float64           `json:"ema_p50"`
	Classes     map[string]float64 `json:"classes"`
	ClassCounts map[string]uint64  `json:"class_counts"`
}

// DistributionReport is the body of GET /api/v2/latency/distribution.
type DistributionReport struct {
	Unit          string          `json:"unit"`
	WindowSeconds float64         `json:"window_seconds"`
	BucketEdgesMS []float64       `json:"bucket_edges_ms"`
	ClassRule     string          `json:"class_rule"`
	Overall       Dist            `json:"overall"`
	Routes        map[string]Dist `json:"routes"`
}

// ClassRule documents the class assignment in the distribution report.
const ClassRule = "fast: v <= ema_p50; normal: v <= ema_p95; slow: v > ema_p95 " +
	"(before the first rotation: the open sub-window's p50/p95 at ingestion)"

// ResetResult is what Reset cleared.
type ResetResult struct {
	ClearedRoutes  int    `json:"cleared_routes"`
	ClearedSamples uint64 `json:"cleared_samples"`
}

// ErrUnknownRoute is returned for a route filter that names no tracked key.
type ErrUnknownRoute struct{ Route string }

func (e ErrUnknownRoute) Error() string {
	return fmt.Sprintf("route %q is not tracked (keys are \"METHOD /template\" or %q)", e.Route, UnmatchedKey)
}

// ParseQuantile validates one requested quantile: 0 < q < 1.
func ParseQuantile(s string) (float64, error) {
	q, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(q > 0 && q < 1) {
		return 0, fmt.Errorf("quantile %q: want a number with 0 < q < 1", s)
	}
	return q, nil
}

// QuantileLabel names a quantile as its percentile: 0.5 -> "p50",
// 0.999 -> "p99.9", 0.05 -> "p5".
func QuantileLabel(q float64) string {
	s := strconv.FormatFloat(q, 'f', -1, 64) // "0.999"
	frac := strings.TrimPrefix(s, "0.")
	if frac == s { // not of the form 0.x
		return "p" + strconv.FormatFloat(q*100, 'g', -1, 64)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	whole := strings.TrimLeft(frac[:2], "0")
	if whole == "" {
		whole = "0"
	}
	if rest := frac[2:]; rest != "" {
		return "p" + whole + "." + rest
	}
	return "p" + whole
}

func num(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func ptr(v float64, ok bool) *float64 {
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func stats(est Estimator, c counts, qs []float64, route bool) Stats {
	st := Stats{"count": c.n}
	for _, q := range qs {
		v := nan
		if est != nil && c.n > 0 {
			v = est.Quantile(q)
		}
		st[QuantileLabel(q)] = num(v)
	}
	if route {
		status := make(map[string]uint64, 5)
		for i, name := range statusClassNames {
			status[name] = c.status[i]
		}
		st["status"] = status
		st["error_rate"] = nil
		if c.n > 0 {
			st["error_rate"] = float64(c.status[4]) / float64(c.n)
		}
	}
	return st
}

// lookup returns the series of filter ("" = all routes with data).
func (e *Engine) selectLocked(filter string) ([]*series, error) {
	if filter != "" {
		id, ok := e.keys[filter]
		if !ok {
			return nil, ErrUnknownRoute{Route: filter}
		}
		return []*series{e.routes[id]}, nil
	}
	var out []*series
	for _, s := range e.routes {
		if s.lifeCounts.n > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// Quantiles reports p50/p90/p95/p99 and the extra quantiles over the
// window and the lifetime, overall and per route (or for one route key).
func (e *Engine) Quantiles(extra []float64, route string) (QuantileReport, error) {
	qs := append(append([]float64{}, DefaultQuantiles...), extra...)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushLocked()
	sel, err := e.selectLocked(route)
	if err != nil {
		return QuantileReport{}, err
	}
	r := QuantileReport{Unit: "ms", WindowSeconds: e.opts.Window.Seconds(), SubWindows: e.opts.SubWindows,
		Estimator: e.info, Routes: map[string]Stats{}, Lifetime: LifetimeReport{Routes: map[string]Stats{}},
		TrackedRoutes: len(e.routes), Dropped: e.dropped.Load(), Rejected: e.rejected.Load()}
	est, c := e.overall.window()
	r.Overall = stats(est, c, qs, false)
	est, c = e.overall.lifetime()
	r.Lifetime.Overall = stats(est, c, qs, false)
	for _, s := range sel {
		est, c := s.window()
		st := stats(est, c, qs, true)
		if target, ok := e.slo[s.key]; ok {
			st["slo_p95_ms"] = target
			st["slo_met"] = nil
			if p95, ok := st["p95"].(float64); ok {
				st["slo_met"] = p95 <= target
			}
		}
		r.Routes[s.key] = st
		est, c = s.lifetime()
		r.Lifetime.Routes[s.key] = stats(est, c, qs, true)
	}
	return r, nil
}

func dist(s *series) Dist {
	c := s.windowCounts()
	d := Dist{Count: c.n, Buckets: append([]uint64{}, c.buckets[:]...),
		EMAP95: ptr(s.emaP95, s.emaSet), EMAP50: ptr(s.emaP50, s.emaSet),
		Classes: map[string]float64{}, ClassCounts: map[string]uint64{}}
	var classified uint64
	for _, n := range c.classes {
		classified += n
	}
	for i, name := range classNames {
		d.ClassCounts[name] = c.classes[i]
		d.Classes[name] = 0
		if classified > 0 {
			d.Classes[name] = float64(c.classes[i]) / float64(classified)
		}
	}
	return d
}

// Distribution reports the window's bucket counts, the EMA p95/p50 and
// the class proportions, overall and per route (or for one route key).
func (e *Engine) Distribution(route string) (DistributionReport, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushLocked()
	sel, err := e.selectLocked(route)
	if err != nil {
		return DistributionReport{}, err
	}
	r := DistributionReport{Unit: "ms", WindowSeconds: e.opts.Window.Seconds(),
		BucketEdgesMS: BucketEdgesMS, ClassRule: ClassRule, Overall: dist(e.overall), Routes: map[string]Dist{}}
	for _, s := range sel {
		r.Routes[s.key] = dist(s)
	}
	return r, nil
}

// Reset clears all latency state: windows, lifetime, EMA, history,
// classes and samples, including those recorded but not yet ingested
// (they are ingested first, so they count as cleared). Prometheus
// histograms are counters and keep counting; the EMA gauges are removed.
func (e *Engine) Reset() ResetResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.drainLocked(false)
	var res ResetResult
	for _, s := range e.routes {
		if s.lifeCounts.n > 0 {
			res.ClearedRoutes++
			res.ClearedSamples += s.lifeCounts.n
		}
		s.clear()
	}
	e.overall.clear()
	e.curStart = e.now()
	if e.metrics != nil {
		e.metrics.ema.Reset()
	}
	return res
}

// Snapshot implements groupapi.LatencySource: per route with samples
// since the last reset, the window's count and p50/p95/p99 (0 when the
// window holds no sample: never NaN), up to
// SampleCap recent samples inside the window, and the p95 history.
func (e *Engine) Snapshot() []groupapi.RouteLatency {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushLocked()
	since := e.now().Add(-e.opts.Window)
	var out []groupapi.RouteLatency
	for _, s := range e.routes {
		if s.lifeCounts.n == 0 {
			continue
		}
		est, c := s.window()
		rl := groupapi.RouteLatency{Route: s.key, Count: c.n,
			Samples: s.samplesSince(since), P95History: s.p95History()}
		if est != nil && c.n > 0 {
			rl.P50, rl.P95, rl.P99 = est.Quantile(0.5), est.Quantile(0.95), est.Quantile(0.99)
		}
		out = append(out, rl)
	}
	return out
}

// SetSLOTargets sets per-route p95 targets (ms); keys that are not tracked
// and targets that are not positive finite numbers are ignored, so the map
// stays bounded by the route table. nil clears.
func (e *Engine) SetSLOTargets(targets map[string]float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.slo = map[string]float64{}
	for k, v := range targets {
		if _, ok := e.keys[k]; ok && finite(v) && v > 0 {
			e.slo[k] = v
		}
	}
}

// SLOTargets returns the targets in force.
func (e *Engine) SLOTargets() map[string]float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]float64, len(e.slo))
	maps.Copy(out, e.slo)
	return out
}

var _ groupapi.LatencySource = (*Engine)(nil)
