package latency

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
)

// Defaults of Options (and of the LATENCY_* settings).
const (
	DefaultWindow        = 300 * time.Second
	DefaultSubWindows    = 10
	DefaultAlpha         = 0.3
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultShardBuffer   = 4096
	// MaxShards bounds the recording shards.
	MaxShards = 64
	// MaxRoutes bounds the route table (RouteID is 16 bits; 0 is unmatched).
	MaxRoutes = 1<<16 - 1
)

// UnmatchedKey is the one key every request without a route template
// shares (404, 405, unknown group prefixes): raw paths are never keys.
const UnmatchedKey = "(unmatched)"

// Errors of Record.
var (
	ErrNegative = errors.New("latency sample is negative")
	ErrDropped  = errors.New("latency shard buffer full: sample dropped")
)

// Options configure an Engine. Zero values take the defaults above.
type Options struct {
	Window        time.Duration // the sliding window the quantiles cover
	SubWindows    int           // sub-windows in the window's ring (>= 2)
	Alpha         float64       // EMA weight of the newest sub-window, 0 < Alpha <= 1
	FlushInterval time.Duration // period of the background ingestion
	ShardBuffer   int           // samples one shard holds before it drops (and counts) more
	Shards        int           // recording shards; 0: 4 x GOMAXPROCS, a power of two, at most MaxShards
	Estimator     Choice        // zero: Select(100, DefaultReservoirSize)
	// Now is the clock; nil means time.Now. Tests inject a fake clock and
	// call Flush instead of waiting for the ticker.
	Now func() time.Time
	// Metrics, when not nil, receives http_request_duration_seconds and the
	// EMA gauges.
	Metrics prometheus.Registerer
}

// Route is one route template of the router.
type Route struct{ Method, Path string }

// Key is the route's key in every report: "METHOD /template".
func (r Route) Key() string { return r.Method + " " + r.Path }

// RouteID indexes the route table; Unmatched is 0.
type RouteID uint16

// Unmatched is the RouteID of requests without a route template.
const Unmatched RouteID = 0

type routeTable struct {
	byMethod map[string]map[string]RouteID
}

// sample is one request as the hot path records it.
type sample struct {
	ms     float64
	route  RouteID
	status uint16
}

// shard is one recording buffer, padded to two cache lines against false
// sharing (adjacent-line prefetch included).
type shard struct {
	mu  sync.Mutex
	buf []sample
	_   [128 - 32]byte
}

// Engine records request latencies on the hot path into sharded buffers
// and ingests them into the estimators on a background goroutine it owns
// (started by New, stopped by Close). Every read first drains the buffers,
// so reads see every sample recorded before them.
type Engine struct {
	opts   Options
	info   capreport.Estimator
	newEst Factory
	now    func() time.Time

	shards []shard
	mask   uint32
	kickAt int
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	table    atomic.Pointer[routeTable]
	dropped  atomic.Uint64
	rejected atomic.Uint64
	ingested atomic.Uint64

	// mu serialises ingestion, rotation, reads and every estimator call
	// (go-tdigest is not safe for concurrent use).
	mu       sync.Mutex
	spare    [][]sample // one per shard, owned by whoever holds mu
	routes   []*series  // by RouteID
	keys     map[string]RouteID
	overall  *series
	subLen   time.Duration
	curStart time.Time
	epoch    uint64
	slo      map[string]float64
	metrics  *promMetrics
}

// New builds the engine and starts its ingestion goroutine. Until
// SetRoutes is called every request counts as unmatched.
func New(opts Options) (*Engine, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, info: opts.Estimator.Info, newEst: opts.Estimator.New, now: opts.Now,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	n := opts.Shards
	e.shards = make([]shard, n)
	e.spare = make([][]sample, n)
	for i := range e.shards {
		e.shards[i].buf = make([]sample, 0, opts.ShardBuffer)
		e.spare[i] = make([]sample, 0, opts.ShardBuffer)
	}
	e.mask = uint32(n - 1)
	e.kickAt = max(opts.ShardBuffer/2, 1)
	e.subLen = opts.Window / time.Duration(opts.SubWindows)
	e.curStart = e.now()
	e.overall = newSeries("(all)", Route{Method: "*", Path: "(all)"}, opts.SubWindows, false)
	e.table.Store(&routeTable{})
	e.setRoutesLocked(nil)
	if opts.Metrics != nil {
		m, err := newPromMetrics(e, opts.Metrics)
		if err != nil {
			return nil, err
		}
		e.metrics = m
	}
	go e.run()
	return e, nil
}

func (o *Options) fill() error {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.SubWindows == 0 {
		o.SubWindows = DefaultSubWindows
	}
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.ShardBuffer == 0 {
		o.ShardBuffer = DefaultShardBuffer
	}
	if o.Shards == 0 {
		o.Shards = 4 * runtime.GOMAXPROCS(0)
	}
	p := 1
	for p < o.Shards && p < MaxShards {
		p <<= 1
	}
	o.Shards = p
	if o.Estimator.New == nil {
		o.Estimator = Select(100, DefaultReservoirSize)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.SubWindows < 2:
		return fmt.Errorf("latency: %d sub-windows, want at least 2", o.SubWindows)
	case o.Window/time.Duration(o.SubWindows) < time.Millisecond:
		return fmt.Errorf("latency: window %s over %d sub-windows is below 1ms each", o.Window, o.SubWindows)
	case !(o.Alpha > 0 && o.Alpha <= 1):
		return fmt.Errorf("latency: EMA alpha %g, want 0 < alpha <= 1", o.Alpha)
	case o.ShardBuffer < 1 || o.FlushInterval < 0:
		return fmt.Errorf("latency: shard buffer %d, flush interval %s", o.ShardBuffer, o.FlushInterval)
	}
	return nil
}

// Info says which estimator runs and why.
func (e *Engine) Info() capreport.Estimator { return e.info }

// Window is the sliding window's length.
func (e *Engine) Window() time.Duration { return e.opts.Window }

// SetRoutes installs the router's route templates; requests of any other
// template count as unmatched, so the tracked keys are bounded by
// len(routes)+1. It clears all latency state; call it once, before serving.
func (e *Engine) SetRoutes(routes []Route) error {
	if len(routes) > MaxRoutes-1 {
		return fmt.Errorf("latency: %d routes, at most %d", len(routes), MaxRoutes-1)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.drainLocked(true)
	e.setRoutesLocked(routes)
	return nil
}

func (e *Engine) setRoutesLocked(routes []Route) {
	t := &routeTable{byMethod: map[string]map[string]RouteID{}}
	e.routes = []*series{newSeries(UnmatchedKey, Route{Method: "*", Path: UnmatchedKey}, e.opts.SubWindows, true)}
	e.keys = map[string]RouteID{UnmatchedKey: Unmatched}
	for _, r := range routes {
		if _, dup := e.keys[r.Key()]; dup {
			continue
		}
		id := RouteID(len(e.routes))
		m := t.byMethod[r.Method]
		if m == nil {
			m = map[string]RouteID{}
			t.byMethod[r.Method] = m
		}
		m[r.Path] = id
		e.keys[r.Key()] = id
		e.routes = append(e.routes, newSeries(r.Key(), r, e.opts.SubWindows, true))
	}
	e.overall.clear()
	e.curStart = e.now()
	if e.metrics != nil {
		e.metrics.ema.Reset()
	}
	e.table.Store(t)
}

// Resolve maps a request's method and gin FullPath to its RouteID; an
// empty or unknown template is Unmatched. It does not allocate.
func (e *Engine) Resolve(method, fullPath string) RouteID {
	if fullPath == "" {
		return Unmatched
	}
	if id, ok := e.table.Load().byMethod[method][fullPath]; ok {
		return id
	}
	return Unmatched
}

// TrackedRoutes is the number of keys the engine can track: the router's
// routes plus the unmatched key.
func (e *Engine) TrackedRoutes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.routes)
}

// Record is the hot path: it appends one sample (ms) to a randomly chosen
// shard's buffer under that shard's mutex. NaN, Inf and negative values
// are rejected; when the shard is full the sample is dropped and counted.
func (e *Engine) Record(id RouteID, status int, ms float64) error {
	if !finite(ms) {
		e.rejected.Add(1)
		return ErrNotFinite
	}
	if ms < 0 {
		e.rejected.Add(1)
		return ErrNegative
	}
	sh := &e.shards[rand.Uint32()&e.mask]
	sh.mu.Lock()
	n := len(sh.buf)
	if n == cap(sh.buf) {
		sh.mu.Unlock()
		e.dropped.Add(1)
		return ErrDropped
	}
	sh.buf = append(sh.buf, sample{ms: ms, route: id, status: uint16(min(max(status, 0), 999))})
	sh.mu.Unlock()
	if n+1 == e.kickAt {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// RecordRequest records a request by method, gin FullPath, status and
// duration.
func (e *Engine) RecordRequest(method, fullPath string, status int, d time.Duration) {
	_ = e.Record(e.Resolve(method, fullPath), status, float64(d)/float64(time.Millisecond))
}

// Dropped is the number of samples dropped because a shard was full.
func (e *Engine) Dropped() uint64 { return e.dropped.Load() }

// Rejected is the number of NaN, infinite or negative samples refused.
func (e *Engine) Rejected() uint64 { return e.rejected.Load() }

// Ingested is the number of samples moved into the estimators.
func (e *Engine) Ingested() uint64 { return e.ingested.Load() }

// run is the ingestion goroutine: every FlushInterval, or when a shard is
// half full, it drains the shards and rotates the window.
func (e *Engine) run() {
	defer close(e.done)
	t := time.NewTicker(e.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			e.Flush()
			return
		case <-t.C:
		case <-e.kick:
		}
		e.Flush()
	}
}

// Close stops the ingestion goroutine after a last drain and waits for it.
// It is safe to call more than once.
func (e *Engine) Close() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}

// Flush drains every shard into the estimators and rotates the window to
// the clock's present.
func (e *Engine) Flush() {
	e.mu.Lock()
	e.flushLocked()
	e.mu.Unlock()
}

func (e *Engine) flushLocked() {
	e.drainLocked(false)
	e.rotateLocked(e.now())
}

// drainLocked swaps each shard's buffer with its spare and ingests (or,
// with discard, drops) what it held.
func (e *Engine) drainLocked(discard bool) {
	e.epoch++
	now := e.now().UnixNano()
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		full := sh.buf
		sh.buf = e.spare[i]
		sh.mu.Unlock()
		if !discard {
			for _, s := range full {
				e.ingestLocked(s, now)
			}
			e.ingested.Add(uint64(len(full)))
		}
		e.spare[i] = full[:0]
	}
}

func (e *Engine) ingestLocked(s sample, now int64) {
	id := s.route
	if int(id) >= len(e.routes) {
		id = Unmatched
	}
	cls := statusClass(int(s.status))
	st := e.routes[id]
	st.add(e, s.ms, cls, now)
	e.overall.add(e, s.ms, cls, now)
	if e.metrics != nil {
		st.observe(e.metrics, cls, s.ms)
	}
}

// rotateLocked closes as many sub-windows as have elapsed since the open
// one started.
func (e *Engine) rotateLocked(now time.Time) {
	elapsed := now.Sub(e.curStart)
	if elapsed < e.subLen {
		return
	}
	steps := int(elapsed / e.subLen)
	e.curStart = e.curStart.Add(time.Duration(steps) * e.subLen)
	for _, s := range e.routes {
		s.rotate(e, steps)
	}
	e.overall.rotate(e, steps)
}

// statusClass maps a status code to 0..4 for 1xx..5xx (out of range codes
// clamp to the nearest class).
func statusClass(code int) int {
	return min(max(code/100, 1), 5) - 1
}

var statusClassNames = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// ActiveRoutes is the number of route keys holding samples since the last
// reset (the tracked endpoints of /__phase and /ml-capabilities).
func (e *Engine) ActiveRoutes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushLocked()
	n := 0
	for _, s := range e.routes {
		if s.lifeCounts.n > 0 {
			n++
		}
	}
	return n
}

// ActiveRouteKeys lists, sorted, the route keys holding samples since the
// last reset: the seed's tdigest_tracked_endpoints.
func (e *Engine) ActiveRouteKeys() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushLocked()
	keys := []string{}
	for _, s := range e.routes {
		if s.lifeCounts.n > 0 {
			keys = append(keys, s.key)
		}
	}
	sort.Strings(keys)
	return keys
}

// Done is closed when the ingestion goroutine has stopped (after Close).
func (e *Engine) Done() <-chan struct{} { return e.done }
