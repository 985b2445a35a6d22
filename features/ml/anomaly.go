package ml

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// Bounds and defaults of the anomaly detector.
const (
	// defaultScoreThreshold flags a window p95 whose robust z-score against
	// the baseline exceeds it (Iglewicz and Hoaglin's 3.5).
	defaultScoreThreshold = 3.5
	// defaultAlpha is the significance level of the KS test.
	defaultAlpha = 0.01
	// minKSSamples is the smallest sample on each side of a KS test; the
	// asymptotic p-value is poor below it.
	minKSSamples = 20
	// minScaleFraction floors the robust scale at 1% of the baseline median,
	// so that a flat history (MAD 0) does not make every tiny change an
	// anomaly.
	minScaleFraction = 0.01
	// maxBaselineRoutes bounds the trained baseline (the latency engine
	// keys routes by template, so this is a safety net).
	maxBaselineRoutes = 10_000
)

// routeBaseline is one route's trained baseline.
type routeBaseline struct {
	P95History []float64 // window p95 values, oldest first
	Samples    []float64 // sorted latency samples (ms)
}

// baselineStore holds the trained baselines.
type baselineStore struct {
	mu        sync.RWMutex
	trainedAt time.Time
	routes    map[string]routeBaseline
}

func (b *baselineStore) get(route string) (routeBaseline, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	rb, ok := b.routes[route]
	return rb, ok
}

func (b *baselineStore) info() (time.Time, int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.trainedAt, len(b.routes)
}

// train snapshots the current distributions as the baseline: for each
// route, its window p95 history and the current window's samples.
func (b *baselineStore) train(snap []groupapi.RouteLatency, now time.Time) []trainedRoute {
	routes := make(map[string]routeBaseline, len(snap))
	out := []trainedRoute{}
	for _, r := range snap {
		if len(routes) >= maxBaselineRoutes {
			break
		}
		rb := routeBaseline{P95History: finite(r.P95History), Samples: finite(r.Samples)}
		slices.Sort(rb.Samples)
		routes[r.Route] = rb
		out = append(out, trainedRoute{Route: r.Route, HistoryLen: len(rb.P95History), Samples: len(rb.Samples)})
	}
	b.mu.Lock()
	b.routes, b.trainedAt = routes, now
	b.mu.Unlock()
	return out
}

type trainedRoute struct {
	Route      string `json:"route"`
	HistoryLen int    `json:"history_len"`
	Samples    int    `json:"samples"`
}

// finite copies xs without NaN and Inf values.
func finite(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

// RouteAnomaly is one route's entry of GET /api/v2/ml/anomalies.
type RouteAnomaly struct {
	Route    string  `json:"route"`
	Count    uint64  `json:"count"`
	P95Ms    float64 `json:"p95_ms"`
	Baseline string  `json:"baseline"` // "trained" or "history"
	// HistoryLen is the number of window p95 values the score is based on.
	HistoryLen     int       `json:"history_len"`
	BaselineMedian *float64  `json:"baseline_median_p95_ms"`
	BaselineScale  *float64  `json:"baseline_scale_ms"`
	Score          *float64  `json:"score"`
	KS             *KSResult `json:"ks"`
	Anomalous      bool      `json:"anomalous"`
	Reasons        []string  `json:"reasons"`
}

// scoreParams are the thresholds of one evaluation.
type scoreParams struct {
	Threshold  float64
	Alpha      float64
	MinHistory int
}

// evaluate scores one route against its trained baseline when there is one,
// else against its own window p95 history.
func evaluate(r groupapi.RouteLatency, trained *routeBaseline, p scoreParams) RouteAnomaly {
	ra := RouteAnomaly{Route: r.Route, Count: r.Count, P95Ms: r.P95, Baseline: "history", Reasons: []string{}}
	hist := finite(r.P95History)
	if trained != nil {
		if len(trained.P95History) >= p.MinHistory {
			ra.Baseline, hist = "trained", trained.P95History
		} else {
			ra.Reasons = append(ra.Reasons, fmt.Sprintf("the trained baseline holds %d of %d window p95 values: scoring against the route's own history (retrain later)",
				len(trained.P95History), p.MinHistory))
		}
	}
	ra.HistoryLen = len(hist)

	switch {
	case r.Count == 0:
		ra.Reasons = append(ra.Reasons, "no requests in the current window")
	case len(hist) < p.MinHistory:
		ra.Reasons = append(ra.Reasons, fmt.Sprintf("insufficient history: %d of %d window p95 values", len(hist), p.MinHistory))
	default:
		med, mad := MedianMAD(hist)
		scale := mad / madConsistency // a standard-deviation estimate
		if floor := minScaleFraction * math.Abs(med); scale < floor {
			scale = floor
		}
		if scale == 0 { // history all zero
			scale = math.SmallestNonzeroFloat64
		}
		score := (r.P95 - med) / scale
		if math.IsInf(score, 0) {
			score = math.Copysign(math.MaxFloat64, score)
		}
		ra.BaselineMedian, ra.BaselineScale, ra.Score = &med, &scale, &score
		if score > p.Threshold {
			ra.Anomalous = true
			ra.Reasons = append(ra.Reasons, fmt.Sprintf("window p95 %.3g ms is %.2f robust z above the baseline median %.3g ms (threshold %g)",
				r.P95, score, med, p.Threshold))
		}
	}

	if trained == nil {
		ra.Reasons = append(ra.Reasons, "no trained baseline for this route: KS test skipped (POST /api/v2/ml/baseline/train)")
		return ra
	}
	cur := finite(r.Samples)
	if len(cur) < minKSSamples || len(trained.Samples) < minKSSamples {
		ra.Reasons = append(ra.Reasons, fmt.Sprintf("KS test skipped: %d current and %d baseline samples (need %d each)",
			len(cur), len(trained.Samples), minKSSamples))
		return ra
	}
	ks, err := KSTest(cur, trained.Samples)
	if err != nil {
		ra.Reasons = append(ra.Reasons, "KS test failed: "+err.Error())
		return ra
	}
	ra.KS = &ks
	curMed, _ := MedianMAD(cur)
	baseMed, _ := MedianMAD(trained.Samples)
	if ks.PValue < p.Alpha && curMed > baseMed {
		ra.Anomalous = true
		ra.Reasons = append(ra.Reasons, fmt.Sprintf("latency distribution shifted up: KS D=%.3f, p=%.2g < %g; median %.3g ms vs baseline %.3g ms",
			ks.D, ks.PValue, p.Alpha, curMed, baseMed))
	}
	return ra
}

// latency returns the latency source or answers 503.
func (f *feature) latency(w http.ResponseWriter, r *http.Request) (groupapi.LatencySource, bool) {
	src, ok := f.latencySrc.Get()
	if !ok || src == nil {
		apierr.Error(w, r, http.StatusServiceUnavailable, "latency_unavailable",
			"no latency source: the latency engine has not been provided to the ml group")
		return nil, false
	}
	return src, true
}

// anomalies serves GET /api/v2/ml/anomalies?threshold=&alpha=.
func (f *feature) anomalies(w http.ResponseWriter, r *http.Request) {
	p := scoreParams{Threshold: defaultScoreThreshold, Alpha: defaultAlpha, MinHistory: f.minHistory}
	if !queryFloat(w, r, "threshold", &p.Threshold, 0, 1e6) || !queryFloat(w, r, "alpha", &p.Alpha, 0, 1) {
		return
	}
	src, ok := f.latency(w, r)
	if !ok {
		return
	}
	snap := src.Snapshot()
	out := make([]RouteAnomaly, 0, len(snap))
	anomalous := 0
	for _, r := range snap {
		var tb *routeBaseline
		if rb, ok := f.baseline.get(r.Route); ok {
			tb = &rb
		}
		ra := evaluate(r, tb, p)
		if ra.Anomalous {
			anomalous++
		}
		out = append(out, ra)
	}
	slices.SortFunc(out, func(a, b RouteAnomaly) int {
		if a.Route < b.Route {
			return -1
		}
		if a.Route > b.Route {
			return 1
		}
		return 0
	})
	trainedAt, n := f.baseline.info()
	apierr.WriteFiniteJSON(w, r, http.StatusOK, map[string]any{
		"threshold":   p.Threshold,
		"alpha":       p.Alpha,
		"min_history": p.MinHistory,
		"baseline":    baselineInfo(trainedAt, n),
		"anomalous":   anomalous,
		"routes":      out,
	})
}

// train serves POST /api/v2/ml/baseline/train (admin).
func (f *feature) train(w http.ResponseWriter, r *http.Request) {
	src, ok := f.latency(w, r)
	if !ok {
		return
	}
	routes := f.baseline.train(src.Snapshot(), time.Now().UTC())
	trainedAt, n := f.baseline.info()
	apierr.WriteFiniteJSON(w, r, http.StatusOK, map[string]any{"baseline": baselineInfo(trainedAt, n), "trained": routes})
}

func baselineInfo(at time.Time, routes int) map[string]any {
	if at.IsZero() {
		return map[string]any{"trained": false, "routes": 0}
	}
	return map[string]any{"trained": true, "trained_at": at.Format(time.RFC3339Nano), "routes": routes}
}

// queryFloat reads an optional query parameter in (lo, hi]; on a bad value
// it answers 400 and returns false.
func queryFloat(w http.ResponseWriter, r *http.Request, name string, dst *float64, lo, hi float64) bool {
	q := r.URL.Query()
	if !q.Has(name) {
		return true
	}
	s := q.Get(name)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > lo && v <= hi) {
		apierr.Error(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("%s=%q: want a number in (%g, %g]", name, s, lo, hi))
		return false
	}
	*dst = v
	return true
}
