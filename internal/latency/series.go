package latency

import "time"

// BucketEdgesMS are the upper edges (ms) of the distribution's buckets.
// Bucket 0 counts v <= 0.1; bucket i counts edges[i-1] < v <= edges[i];
// the last bucket counts v > 10000 (len(BucketEdgesMS)+1 buckets).
var BucketEdgesMS = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

const nBuckets = 17 // len(BucketEdgesMS)+1

// Bounds of the per-route analytics views.
const (
	// SampleCap bounds Snapshot's raw samples per route (the most recent
	// ones inside the window).
	SampleCap = 1024
	// HistoryCap bounds the p95 history per route (one entry per rotation
	// that closed a sub-window with samples).
	HistoryCap = 120
)

// Latency classes. A request is fast when v <= the EMA p50, normal when
// v <= the EMA p95, slow beyond. Before the series' first sub-window with
// samples has closed (no EMA yet) the thresholds are the p50 and p95 of
// the open sub-window as it stood when the ingestion batch began; a
// sample with no threshold at all (the very first batch) counts as normal.
const (
	classFast = iota
	classNormal
	classSlow
)

var classNames = [3]string{"fast", "normal", "slow"}

// counts are the exact counters of a sub-window (or a sum of them).
type counts struct {
	n       uint64
	status  [5]uint64
	classes [3]uint64
	buckets [nBuckets]uint64
}

func (c *counts) addAll(o *counts) {
	c.n += o.n
	for i := range c.status {
		c.status[i] += o.status[i]
	}
	for i := range c.classes {
		c.classes[i] += o.classes[i]
	}
	for i := range c.buckets {
		c.buckets[i] += o.buckets[i]
	}
}

type subWindow struct {
	_   [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	est Estimator // nil until the first sample
	counts
}

type timedSample struct {
	ms float64
	at int64 // unix nanos of ingestion
}

// series is the state of one route (or of all requests together).
type series struct {
	key   string
	route Route
	ring  []subWindow
	cur   int
	// closed merges the ring's closed sub-windows; rebuilt at rotation.
	closed Estimator
	// life merges every sub-window ever closed; life+open is the lifetime.
	life       Estimator
	lifeCounts counts
	active     bool // some sub-window in the ring holds samples

	emaSet         bool
	emaP50, emaP95 float64
	history        []float64 // ring of p95 per rotation, HistoryCap
	histNext       int
	histFull       bool

	thrEpoch       uint64
	thrOK          bool
	thrP50, thrP95 float64

	// recent is a ring of SampleCap samples, made at the route's first
	// sample: every route of the router is tracked from the start, and 16 KB
	// each made up front cost every start about a millisecond for routes
	// that may never be called. keepSamples is false for the overall series.
	keepSamples bool
	recent      []timedSample
	recentNext  int
	recentFull  bool

	obs [5]observer // Prometheus observers by status class, made on first use
}

func newSeries(key string, r Route, subWindows int, keepSamples bool) *series {
	return &series{key: key, route: r, ring: make([]subWindow, subWindows), keepSamples: keepSamples}
}

// clear forgets everything, keeping allocated estimators.
func (s *series) clear() {
	for i := range s.ring {
		if s.ring[i].est != nil {
			s.ring[i].est.Reset()
		}
		s.ring[i].counts = counts{}
	}
	s.cur = 0
	if s.closed != nil {
		s.closed.Reset()
	}
	if s.life != nil {
		s.life.Reset()
	}
	s.lifeCounts = counts{}
	s.active = false
	s.emaSet, s.emaP50, s.emaP95 = false, 0, 0
	s.history, s.histNext, s.histFull = s.history[:0], 0, false
	s.thrEpoch, s.thrOK = 0, false
	if s.recent != nil {
		s.recent, s.recentNext, s.recentFull = s.recent[:0], 0, false
	}
}

func bucketOf(v float64) int {
	lo, hi := 0, len(BucketEdgesMS)
	for lo < hi { // first edge >= v
		m := (lo + hi) / 2
		if BucketEdgesMS[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (s *series) classify(e *Engine, open *subWindow, v float64) int {
	p50, p95 := s.emaP50, s.emaP95
	if !s.emaSet {
		if s.thrEpoch != e.epoch {
			s.thrEpoch = e.epoch
			s.thrOK = open.est != nil && open.n > 0
			if s.thrOK {
				s.thrP50, s.thrP95 = open.est.Quantile(0.5), open.est.Quantile(0.95)
			}
		}
		if !s.thrOK {
			return classNormal
		}
		p50, p95 = s.thrP50, s.thrP95
	}
	switch {
	case v <= p50:
		return classFast
	case v <= p95:
		return classNormal
	default:
		return classSlow
	}
}

func (s *series) add(e *Engine, v float64, cls int, now int64) {
	w := &s.ring[s.cur]
	if w.est == nil {
		w.est = e.newEst()
	}
	c := s.classify(e, w, v)
	if err := w.est.Add(v); err != nil {
		return // unreachable: Record rejected non-finite values
	}
	w.n++
	w.status[cls]++
	w.classes[c]++
	w.buckets[bucketOf(v)]++
	s.lifeCounts.n++
	s.lifeCounts.status[cls]++
	s.lifeCounts.classes[c]++
	s.lifeCounts.buckets[bucketOf(v)]++
	s.active = true
	if s.keepSamples {
		if s.recent == nil {
			s.recent = make([]timedSample, 0, SampleCap)
		}
		ts := timedSample{ms: v, at: now}
		if !s.recentFull && len(s.recent) < SampleCap {
			s.recent = append(s.recent, ts)
		} else {
			s.recentFull = true
			s.recent[s.recentNext] = ts
		}
		s.recentNext = (s.recentNext + 1) % SampleCap
	}
}

// rotate closes the open sub-window steps times.
func (s *series) rotate(e *Engine, steps int) {
	if !s.active {
		return
	}
	n := len(s.ring)
	for i := 0; i < min(steps, n); i++ {
		s.closeOpen(e)
		s.cur = (s.cur + 1) % n
		w := &s.ring[s.cur]
		if w.est != nil {
			w.est.Reset()
		}
		w.counts = counts{}
	}
	s.rebuildClosed(e)
}

// closeOpen feeds the closing sub-window's p95 and p50 into the EMA and
// the p95 history, and merges it into the lifetime estimator.
func (s *series) closeOpen(e *Engine) {
	w := &s.ring[s.cur]
	if w.n == 0 {
		return
	}
	p50, p95 := w.est.Quantile(0.5), w.est.Quantile(0.95)
	if s.emaSet {
		a := e.opts.Alpha
		s.emaP50 = a*p50 + (1-a)*s.emaP50
		s.emaP95 = a*p95 + (1-a)*s.emaP95
	} else {
		s.emaSet, s.emaP50, s.emaP95 = true, p50, p95
	}
	if len(s.history) < HistoryCap {
		s.history = append(s.history, p95)
	} else {
		s.history[s.histNext] = p95
		s.histFull = true
	}
	s.histNext = (s.histNext + 1) % HistoryCap
	if s.life == nil {
		s.life = e.newEst()
	}
	_ = s.life.Merge(w.est) // same factory: cannot fail
	if e.metrics != nil {
		e.metrics.setEMA(s)
	}
}

func (s *series) rebuildClosed(e *Engine) {
	if s.closed == nil {
		s.closed = e.newEst()
	} else {
		s.closed.Reset()
	}
	s.active = false
	for i := range s.ring {
		w := &s.ring[i]
		if w.n == 0 {
			continue
		}
		s.active = true
		if i != s.cur {
			_ = s.closed.Merge(w.est)
		}
	}
}

// window returns the estimator of the sliding window (nil when empty) and
// its counts. The result may alias internal state: read it under e.mu.
func (s *series) window() (Estimator, counts) {
	return s.merged(s.closed), s.windowCounts()
}

func (s *series) windowCounts() counts {
	var c counts
	for i := range s.ring {
		c.addAll(&s.ring[i].counts)
	}
	return c
}

// lifetime returns the estimator of everything since the last reset.
func (s *series) lifetime() (Estimator, counts) {
	return s.merged(s.life), s.lifeCounts
}

func (s *series) merged(base Estimator) Estimator {
	open := &s.ring[s.cur]
	hasBase := base != nil && base.Count() > 0
	hasOpen := open.n > 0
	switch {
	case hasBase && hasOpen:
		m := base.Clone()
		_ = m.Merge(open.est)
		return m
	case hasBase:
		return base
	case hasOpen:
		return open.est
	}
	return nil
}

// p95History returns the history oldest first.
func (s *series) p95History() []float64 {
	out := make([]float64, 0, len(s.history))
	if s.histFull {
		out = append(out, s.history[s.histNext:]...)
		return append(out, s.history[:s.histNext]...)
	}
	return append(out, s.history...)
}

// samplesSince returns the recent samples ingested at or after t, oldest first.
func (s *series) samplesSince(t time.Time) []float64 {
	cut := t.UnixNano()
	out := make([]float64, 0, len(s.recent))
	take := func(xs []timedSample) {
		for _, x := range xs {
			if x.at >= cut {
				out = append(out, x.ms)
			}
		}
	}
	if s.recentFull {
		take(s.recent[s.recentNext:])
		take(s.recent[:s.recentNext])
	} else {
		take(s.recent)
	}
	return out
}
