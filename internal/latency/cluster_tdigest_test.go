//go:build !notdigest

package latency

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
)

// Bounds of the cluster merge (replicas' windows, each itself merged from
// sub-windows, merged again after a float32 serialization): the t-digest at
// compression 100 keeps the rank error within 1/(2 x compression) = 0.5%;
// the value error is held to 0.5% too (the single-digest bounds of
// accuracy_tdigest_test.go are 0.1% up to p99 on dense data).
const (
	clusterRankBound  = 0.005
	clusterValueBound = 0.005
)

// rankOf is the share of the sorted values at or below v.
func rankOf(sorted []float64, v float64) float64 {
	i, _ := slices.BinarySearch(sorted, v)
	for i < len(sorted) && sorted[i] <= v {
		i++
	}
	return float64(i) / float64(len(sorted))
}

// tdigestEngine is a test engine running the t-digest (compression 100).
func tdigestEngine(t *testing.T) (*Engine, *fakeClock) {
	t.Helper()
	f, err := NewTDigestFactory(100)
	if err != nil {
		t.Fatal(err)
	}
	e, clk, _ := newTestEngine(t, func(o *Options) {
		o.Estimator = Choice{New: f, Info: capreport.Estimator{Name: "tdigest"}}
		o.Metrics = nil
	})
	return e, clk
}

// Three replicas with different distributions and sizes, each spread over
// its sub-windows: the merged cluster quantiles agree with the exact
// quantiles of all values together within the t-digest's bounds, and the
// counts, status classes and buckets are the exact sums.
func TestClusterMergeMatchesExactQuantiles(t *testing.T) {
	dists := distributions()
	plan := []struct {
		id   string
		dist string
		n    int
	}{{"r1", "lognormal", 60_000}, {"r2", "bimodal", 25_000}, {"r3", "pareto", 40_000}}
	var all, health []float64
	var parts []ClusterPart
	var wantBuckets [nBuckets]uint64
	for i, p := range plan {
		e, clk := tdigestEngine(t)
		r := rand.New(rand.NewPCG(7, uint64(i)))
		for j := 0; j < p.n; j++ {
			v := dists[p.dist](r)
			route, status := "/items/:id", 200
			if j%5 == 0 {
				route, status = "/health", 503
				health = append(health, v)
			}
			record(t, e, "GET", route, status, v)
			all = append(all, v)
			wantBuckets[bucketOf(v)]++
			if j%(p.n/9) == 0 { // spread over the window's sub-windows
				e.Flush()
				clk.Advance(9 * time.Second) // ten steps stay inside the 100 s window
			}
		}
		data, err := e.ExportCluster(256 << 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d samples, payload %d bytes", p.id, p.n, len(data))
		parts = append(parts, ClusterPart{Replica: p.id, Age: time.Duration(i) * time.Second, Data: data})
	}
	rep := ClusterQuantiles(parts, []float64{0.999}, "")
	if len(rep.Replicas) != 3 || len(rep.Skipped) != 0 {
		t.Fatalf("replicas %+v skipped %+v", rep.Replicas, rep.Skipped)
	}
	for i, r := range rep.Replicas {
		if r.ID != plan[i].id || r.Count != uint64(plan[i].n) || r.AgeSeconds != float64(i) {
			t.Errorf("replica %d: %+v", i, r)
		}
	}
	if got := rep.Overall["count"]; got != uint64(len(all)) {
		t.Fatalf("overall count %v, want %d", got, len(all))
	}
	check := func(name string, st Stats, values []float64) {
		slices.Sort(values)
		for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
			want := exactQuantile(values, q)
			got, _ := st[QuantileLabel(q)].(float64)
			rel := math.Abs(got-want) / want
			rank := math.Abs(rankOf(values, got) - q)
			t.Logf("%-12s %-6s exact %9.4f cluster %9.4f value error %.4f%% rank error %.4f%%", name, QuantileLabel(q), want, got, 100*rel, 100*rank)
			if !(rel <= clusterValueBound) || !(rank <= clusterRankBound) {
				t.Errorf("%s %s: cluster %g, exact %g: value error %.4f%% (bound %.2f%%), rank error %.4f%% (bound %.2f%%)",
					name, QuantileLabel(q), got, want, 100*rel, 100*clusterValueBound, 100*rank, 100*clusterRankBound)
			}
		}
	}
	check("overall", rep.Overall, all)
	h := rep.Routes["GET /health"]
	check("GET /health", h, health)
	if h["count"] != uint64(len(health)) || h["error_rate"] != 1.0 {
		t.Errorf("health: count %v error_rate %v, want %d and 1", h["count"], h["error_rate"], len(health))
	}
	dist := ClusterDistribution(parts, "")
	if !slices.Equal(dist.Overall.Buckets, wantBuckets[:]) {
		t.Errorf("buckets %v, want %v", dist.Overall.Buckets, wantBuckets)
	}
	if dist.Overall.EMAP95 == nil || dist.Routes["GET /items/:id"].Count != uint64(len(all)-len(health)) {
		t.Errorf("distribution: %+v", dist.Overall)
	}
	// One route only.
	one := ClusterQuantiles(parts, nil, "GET /health")
	if len(one.Routes) != 1 || one.Routes["GET /health"]["count"] != uint64(len(health)) {
		t.Errorf("route filter: %v", one.Routes)
	}
}

// A payload that cannot be read is listed as skipped with the reason and
// changes nothing; the others are still merged.
func TestClusterMergeSkipsBadPayloads(t *testing.T) {
	e, _ := tdigestEngine(t)
	record(t, e, "GET", "/health", 200, seq(1, 100)...)
	good, err := e.ExportCluster(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	var st ClusterState
	if err := json.Unmarshal(good, &st); err != nil {
		t.Fatal(err)
	}
	st.Routes[0].Digest = []byte{0, 0, 0, 2, 1} // truncated digest
	broken, _ := json.Marshal(st)
	st.Routes[0].Digest = []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x3f, 0xff, 0xff, 1, 2, 3} // claims 4M centroids
	bomb, _ := json.Marshal(st)
	st.Format = 99
	future, _ := json.Marshal(st)
	rep := ClusterQuantiles([]ClusterPart{
		{Replica: "good", Data: good}, {Replica: "junk", Data: []byte("{")},
		{Replica: "broken", Data: broken}, {Replica: "future", Data: future}, {Replica: "bomb", Data: bomb},
	}, nil, "")
	if len(rep.Replicas) != 1 || rep.Replicas[0].ID != "good" || len(rep.Skipped) != 4 {
		t.Fatalf("replicas %+v skipped %+v", rep.Replicas, rep.Skipped)
	}
	if rep.Overall["count"] != uint64(100) || rep.Overall["p50"] != 50.5 {
		t.Errorf("overall %v", rep.Overall)
	}
	for _, s := range rep.Skipped {
		if s.Reason == "" {
			t.Errorf("%s skipped without a reason", s.ID)
		}
	}
}

// The byte bound keeps the busiest routes and counts the others; a bound
// the overall series alone exceeds is an error, not a silent cut.
func TestClusterExportBound(t *testing.T) {
	e, _ := tdigestEngine(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		record(t, e, "GET", "/items/:id", 200, 1+r.Float64()*100)
	}
	for i := 0; i < 3000; i++ {
		record(t, e, "POST", "/items", 200, 1+r.Float64()*100)
	}
	record(t, e, "GET", "/health", 200, 1, 2, 3)
	full, err := e.ExportCluster(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeClusterState(full)
	if err != nil || len(st.Routes) != 3 || st.TruncatedRoutes != 0 {
		t.Fatalf("full export: %d routes, %d truncated, %v", len(st.Routes), st.TruncatedRoutes, err)
	}
	overallOnly, _ := json.Marshal(ClusterState{Format: st.Format, Estimator: st.Estimator, WindowSeconds: st.WindowSeconds, Overall: st.Overall})
	routeSize := func(i int) int { b, _ := json.Marshal(st.Routes[i]); return len(b) }
	// room for the busiest route, not the second (sizes vary a little between
	// exports: the compression is randomised); the prefix stops there, so the
	// tiny third route is not squeezed in either
	bound := len(overallOnly) + routeSize(0) + routeSize(1)/2
	cut, err := e.ExportCluster(bound)
	if err != nil {
		t.Fatal(err)
	}
	if len(cut) > bound {
		t.Fatalf("%d bytes above the bound %d", len(cut), bound)
	}
	cst, _ := DecodeClusterState(cut)
	if len(cst.Routes) != 1 || cst.Routes[0].Key != "GET /items/:id" || cst.TruncatedRoutes != 2 {
		t.Fatalf("bounded export: routes %d (%v) truncated %d", len(cst.Routes), cst.Routes, cst.TruncatedRoutes)
	}
	if _, err := e.ExportCluster(len(overallOnly) / 2); err == nil || !strings.Contains(err.Error(), "overall series alone") {
		t.Fatalf("bound below the overall series: %v", err)
	}
}

// The payload of a busy replica: 40 routes (more than prodapi or full
// serve) with 20000 lognormal samples each fits the default bound of
// CLUSTER_MAX_PUBLISH_BYTES (256 KiB) without truncation; the size is
// logged for DEPLOY.md.
func TestClusterPayloadOfABusyReplica(t *testing.T) {
	f, err := NewTDigestFactory(100)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Estimator: Choice{New: f, Info: capreport.Estimator{Name: "tdigest"}}, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var routes []Route
	for i := 0; i < 40; i++ {
		routes = append(routes, Route{Method: "GET", Path: "/r" + strings.Repeat("x", i)})
	}
	if err := e.SetRoutes(routes); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 40*20000; i++ {
		if err := e.Record(RouteID(1+i%40), 200, math.Exp(math.Log(20)+0.8*r.NormFloat64())); err != nil {
			e.Flush()
		}
	}
	data, err := e.ExportCluster(256 << 10)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := DecodeClusterState(data)
	t.Logf("40 busy routes: %d bytes (%d per series), %d routes truncated", len(data), len(data)/41, st.TruncatedRoutes)
	if st.TruncatedRoutes != 0 || len(st.Routes) != 40 {
		t.Errorf("%d routes exported, %d truncated", len(st.Routes), st.TruncatedRoutes)
	}
}
