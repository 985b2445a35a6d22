package latency

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchEngine builds an engine whose own ingestion stays idle; the
// Record benchmarks empty the shards themselves (discarding) every
// drainEvery records, a cost they include (about 0.2 ns/op), so they
// measure the request path and never hit a full shard (dropped/op proves it).
func benchEngine(b *testing.B) (*Engine, func()) {
	b.Helper()
	e, err := New(Options{FlushInterval: time.Hour, Estimator: Select(100, DefaultReservoirSize)})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.SetRoutes(testRoutes); err != nil {
		b.Fatal(err)
	}
	e.kickAt = -1 // the engine's own goroutine stays idle
	return e, func() {
		b.ReportMetric(float64(e.Dropped())/float64(b.N), "dropped/op")
		e.Close()
	}
}

const drainEvery = 1024 // below every shard's capacity (4096)

func (e *Engine) benchDiscard() {
	e.mu.Lock()
	e.drainLocked(true)
	e.mu.Unlock()
}

// BenchmarkRecord is the hot path of one request: shard choice, lock,
// append, unlock.
func BenchmarkRecord(b *testing.B) {
	e, done := benchEngine(b)
	defer done()
	id := e.Resolve("GET", "/health")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = e.Record(id, 200, 1.5)
		if i%drainEvery == 0 {
			e.benchDiscard()
		}
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	e, done := benchEngine(b)
	defer done()
	id := e.Resolve("GET", "/health")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = e.Record(id, 200, 1.5)
			if i++; i%drainEvery == 0 {
				e.benchDiscard()
			}
		}
	})
}

// BenchmarkRecordRequest adds the route lookup (method, FullPath) to Record.
func BenchmarkRecordRequest(b *testing.B) {
	e, done := benchEngine(b)
	defer done()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.RecordRequest("GET", "/items/:id", 200, 1500*time.Microsecond)
		if i%drainEvery == 0 {
			e.benchDiscard()
		}
	}
}

// filledEngine holds 12 routes with 10,000 lognormal-ish samples each,
// spread over the ten sub-windows of the window.
func filledEngine(b *testing.B, choice Choice) *Engine {
	b.Helper()
	clk := newFakeClock()
	e, err := New(Options{Window: 100 * time.Second, FlushInterval: time.Hour, Estimator: choice, Now: clk.Now, ShardBuffer: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	var routes []Route
	for i := 0; i < 12; i++ {
		routes = append(routes, Route{"GET", "/r" + string(rune('a'+i))})
	}
	if err := e.SetRoutes(routes); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for w := 0; w < 10; w++ {
		for i := 0; i < 12_000; i++ {
			_ = e.Record(RouteID(1+i%12), 200, r.ExpFloat64()*20)
		}
		clk.Advance(10 * time.Second)
		e.Flush()
	}
	for i := 0; i < 1000; i++ { // the open sub-window holds samples too
		_ = e.Record(RouteID(1+i%12), 200, r.ExpFloat64()*20)
	}
	e.Flush()
	return e
}

// BenchmarkQuantilesAll reads p50/p90/p95/p99 over the window and the
// lifetime for all routes and overall (what the quantiles endpoint does).
func BenchmarkQuantilesAll(b *testing.B) {
	for name, choice := range map[string]Choice{"tdigest": Select(100, DefaultReservoirSize), "reservoir": Reservoir(DefaultReservoirSize, "bench")} {
		b.Run(name, func(b *testing.B) {
			e := filledEngine(b, choice)
			defer e.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Quantiles(nil, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIngest measures the background path: one op is one sample
// moved from a shard into its route's and the overall estimators, with
// and without the Prometheus histogram observation.
func BenchmarkIngest(b *testing.B) {
	for _, name := range []string{"tdigest", "tdigest+prometheus", "reservoir"} {
		b.Run(name, func(b *testing.B) {
			o := Options{FlushInterval: time.Hour, Estimator: Select(100, DefaultReservoirSize), Shards: 1, ShardBuffer: 4096}
			switch name {
			case "tdigest+prometheus":
				o.Metrics = prometheus.NewRegistry()
			case "reservoir":
				o.Estimator = Reservoir(DefaultReservoirSize, "bench")
			}
			e, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if err := e.SetRoutes(testRoutes); err != nil {
				b.Fatal(err)
			}
			e.kickAt = -1
			r := rand.New(rand.NewPCG(3, 4))
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(4096, b.N-done)
				b.StopTimer()
				for i := 0; i < n; i++ {
					_ = e.Record(RouteID(1+i%3), 200, r.ExpFloat64()*20)
				}
				b.StartTimer()
				e.Flush()
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
