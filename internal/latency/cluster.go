package latency

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Cluster mode: every replica exports its sliding window (per route, the
// merge of its recent sub-windows as a serialized t-digest, plus the exact
// counts, buckets and classes) and any replica merges the exports of the
// live replicas into one cluster-wide report. The transport (Redis) lives
// in the vector group; this file only defines the payload and the merge.

// ClusterFormat is the version of the exported payload.
const ClusterFormat = 1

// ErrClusterUnsupported says the estimator in force cannot be exported.
var ErrClusterUnsupported = errors.New("cluster scope needs the t-digest estimator")

// ClusterState is one replica's exported window.
type ClusterState struct {
	Format        int             `json:"v"`
	Estimator     string          `json:"estimator"`
	Unsupported   string          `json:"unsupported,omitempty"` // why no digests are exported
	WindowSeconds float64         `json:"window_seconds"`
	Overall       ClusterSeries   `json:"overall"`
	Routes        []ClusterSeries `json:"routes"`
	// TruncatedRoutes counts routes left out to respect the byte bound
	// (those with the fewest requests go first).
	TruncatedRoutes int `json:"truncated_routes,omitempty"`
}

// ClusterSeries is one series' window: exact counters and the digest.
type ClusterSeries struct {
	Key     string           `json:"k"`
	Count   uint64           `json:"n"`
	Status  [5]uint64        `json:"s"`
	Classes [3]uint64        `json:"c"`
	Buckets [nBuckets]uint64 `json:"b"`
	EMAP50  *float64         `json:"e50,omitempty"`
	EMAP95  *float64         `json:"e95,omitempty"`
	Digest  []byte           `json:"d,omitempty"` // go-tdigest AsBytes
}

// binaryEstimator is an estimator that can be exported.
type binaryEstimator interface {
	Estimator
	encoding.BinaryMarshaler
}

func exportSeries(s *series) (ClusterSeries, error) {
	est, c := s.window()
	cs := ClusterSeries{Key: s.key, Count: c.n, Status: c.status, Classes: c.classes, Buckets: c.buckets,
		EMAP50: ptr(s.emaP50, s.emaSet), EMAP95: ptr(s.emaP95, s.emaSet)}
	if est == nil || c.n == 0 {
		return cs, nil
	}
	be, ok := est.(binaryEstimator)
	if !ok {
		return cs, ErrClusterUnsupported
	}
	b, err := be.MarshalBinary()
	if err != nil {
		return cs, err
	}
	cs.Digest = b
	return cs, nil
}

// ExportCluster returns this replica's window as a JSON payload of at most
// maxBytes: the overall series always, then routes by request count,
// leaving out (and counting) those that do not fit. With an estimator that
// cannot be exported (the reservoir) the payload says so and carries no
// series, so readers list the replica as skipped with the reason.
func (e *Engine) ExportCluster(maxBytes int) ([]byte, error) {
	e.mu.Lock()
	st := ClusterState{Format: ClusterFormat, Estimator: e.info.Name, WindowSeconds: e.opts.Window.Seconds()}
	e.flushLocked()
	var routes []ClusterSeries
	var err error
	st.Overall, err = exportSeries(e.overall)
	if err == nil {
		for _, s := range e.routes {
			if s.windowCounts().n == 0 {
				continue
			}
			var cs ClusterSeries
			if cs, err = exportSeries(s); err != nil {
				break
			}
			routes = append(routes, cs)
		}
	}
	e.mu.Unlock()
	if errors.Is(err, ErrClusterUnsupported) {
		st.Overall, routes = ClusterSeries{Key: "(all)"}, nil
		st.Unsupported = fmt.Sprintf("estimator %s (%s) cannot be exported; cluster scope needs the t-digest", e.info.Name, e.info.Reason)
	} else if err != nil {
		return nil, fmt.Errorf("export latency: %w", err)
	}
	return encodeBounded(st, routes, maxBytes)
}

// encodeBounded encodes st with as many routes as fit in maxBytes, the
// busiest first.
func encodeBounded(st ClusterState, routes []ClusterSeries, maxBytes int) ([]byte, error) {
	slices.SortStableFunc(routes, func(a, b ClusterSeries) int { return cmpUint(b.Count, a.Count) })
	base, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode cluster state: %w", err)
	}
	if len(base) > maxBytes {
		return nil, fmt.Errorf("cluster state: the overall series alone takes %d bytes, more than the bound %d", len(base), maxBytes)
	}
	size := len(base)
	keep := 0
	for _, r := range routes {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode cluster route: %w", err)
		}
		if size+len(b)+1 > maxBytes {
			break
		}
		size += len(b) + 1
		keep++
	}
	for ; keep >= 0; keep-- {
		st.Routes, st.TruncatedRoutes = routes[:keep], len(routes)-keep
		out, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("encode cluster state: %w", err)
		}
		if len(out) <= maxBytes {
			return out, nil
		}
	}
	return nil, fmt.Errorf("cluster state does not fit in %d bytes", maxBytes)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DecodeClusterState parses a payload that ExportCluster produced.
func DecodeClusterState(b []byte) (ClusterState, error) {
	var st ClusterState
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode cluster state: %w", err)
	}
	if st.Format != ClusterFormat {
		return st, fmt.Errorf("cluster state format %d, this replica reads %d", st.Format, ClusterFormat)
	}
	return st, nil
}

// ClusterPart is one replica's payload as the shared store returned it.
type ClusterPart struct {
	Replica string
	Age     time.Duration // how old the payload is
	Data    []byte
}

// ReplicaInfo lists a replica in a cluster report.
type ReplicaInfo struct {
	_               [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	ID              string    `json:"id"`
	AgeSeconds      float64   `json:"age_seconds"`
	Count           uint64    `json:"count"`
	WindowSeconds   float64   `json:"window_seconds"`
	TruncatedRoutes int       `json:"truncated_routes"`
}

// SkippedReplica is a live replica whose payload could not be merged.
type SkippedReplica struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// ClusterQuantileReport is the body of /api/v2/latency/quantiles?scope=cluster.
type ClusterQuantileReport struct {
	Scope     string           `json:"scope"`
	Unit      string           `json:"unit"`
	Estimator string           `json:"estimator"`
	Overall   Stats            `json:"overall"`
	Routes    map[string]Stats `json:"routes"`
	Replicas  []ReplicaInfo    `json:"replicas"`
	Skipped   []SkippedReplica `json:"skipped"`
}

// ClusterDistributionReport is the body of /distribution?scope=cluster.
// The EMAs are the count-weighted means of the replicas' EMAs.
type ClusterDistributionReport struct {
	Scope         string           `json:"scope"`
	Unit          string           `json:"unit"`
	BucketEdgesMS []float64        `json:"bucket_edges_ms"`
	EMARule       string           `json:"ema_rule"`
	Overall       Dist             `json:"overall"`
	Routes        map[string]Dist  `json:"routes"`
	Replicas      []ReplicaInfo    `json:"replicas"`
	Skipped       []SkippedReplica `json:"skipped"`
}

// merged accumulates one key across replicas.
type merged struct {
	_            [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	est          Estimator
	c            counts
	ema50, ema95 float64 // sums weighted by count
	emaWeight    float64
}

func (m *merged) add(cs ClusterSeries, est Estimator) error {
	if est != nil {
		if m.est == nil {
			m.est = est
		} else if err := m.est.Merge(est); err != nil {
			return err
		}
	}
	m.c.addAll(&counts{n: cs.Count, status: cs.Status, classes: cs.Classes, buckets: cs.Buckets})
	if cs.EMAP50 != nil && cs.EMAP95 != nil && cs.Count > 0 {
		w := float64(cs.Count)
		m.ema50 += w * *cs.EMAP50
		m.ema95 += w * *cs.EMAP95
		m.emaWeight += w
	}
	return nil
}

type clusterMerge struct {
	overall  merged
	routes   map[string]*merged
	replicas []ReplicaInfo
	skipped  []SkippedReplica
}

// mergeParts decodes and merges the parts; route "" keeps every route,
// otherwise only that key. A part that cannot be decoded or merged is
// skipped with its reason, never half-merged.
func mergeParts(parts []ClusterPart, route string) *clusterMerge {
	cm := &clusterMerge{routes: map[string]*merged{}, replicas: []ReplicaInfo{}, skipped: []SkippedReplica{}}
	for _, p := range parts {
		st, err := DecodeClusterState(p.Data)
		if err == nil && st.Unsupported != "" {
			err = errors.New(st.Unsupported)
		}
		var ests map[string]Estimator
		if err == nil {
			ests, err = decodeAll(st, route)
		}
		if err != nil {
			cm.skipped = append(cm.skipped, SkippedReplica{ID: p.Replica, Reason: err.Error()})
			continue
		}
		if err := cm.overall.add(st.Overall, ests["(all)"]); err != nil {
			cm.skipped = append(cm.skipped, SkippedReplica{ID: p.Replica, Reason: err.Error()})
			continue
		}
		for _, r := range st.Routes {
			if route != "" && r.Key != route {
				continue
			}
			m := cm.routes[r.Key]
			if m == nil {
				m = &merged{}
				cm.routes[r.Key] = m
			}
			_ = m.add(r, ests[r.Key]) // digests of one kind: cannot fail
		}
		cm.replicas = append(cm.replicas, ReplicaInfo{ID: p.Replica, AgeSeconds: p.Age.Seconds(),
			Count: st.Overall.Count, WindowSeconds: st.WindowSeconds, TruncatedRoutes: st.TruncatedRoutes})
	}
	// sort.Slice rather than slices.SortFunc: the generic sort would be
	// instantiated for ReplicaInfo's shape (~12 KB in every binary); sort's
	// own is linked anyway
	sort.Slice(cm.replicas, func(i, j int) bool { return cm.replicas[i].ID < cm.replicas[j].ID })
	return cm
}

// decodeAll decodes the digests of one payload (the overall one and the
// selected routes) before anything is merged.
func decodeAll(st ClusterState, route string) (map[string]Estimator, error) {
	out := map[string]Estimator{}
	one := func(key string, cs ClusterSeries) error {
		if len(cs.Digest) == 0 {
			return nil
		}
		est, err := decodeEstimator(st.Estimator, cs.Digest)
		if err != nil {
			return fmt.Errorf("series %q: %w", key, err)
		}
		out[key] = est
		return nil
	}
	if err := one("(all)", st.Overall); err != nil {
		return nil, err
	}
	for _, r := range st.Routes {
		if route != "" && r.Key != route {
			continue
		}
		if err := one(r.Key, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ClusterQuantiles merges the replicas' windows into one quantile report
// (route "" for every route, else that key only; it need not be tracked
// here: replicas of another build may serve other routes).
func ClusterQuantiles(parts []ClusterPart, extra []float64, route string) ClusterQuantileReport {
	qs := append(append([]float64{}, DefaultQuantiles...), extra...)
	cm := mergeParts(parts, route)
	r := ClusterQuantileReport{Scope: "cluster", Unit: "ms", Estimator: "tdigest",
		Overall: stats(cm.overall.est, cm.overall.c, qs, false), Routes: map[string]Stats{},
		Replicas: cm.replicas, Skipped: cm.skipped}
	for k, m := range cm.routes {
		r.Routes[k] = stats(m.est, m.c, qs, true)
	}
	return r
}

// ClusterEMARule documents the EMAs of the cluster distribution.
const ClusterEMARule = "ema_p50/ema_p95: the replicas' EMAs weighted by their window counts"

func (m *merged) dist() Dist {
	var set bool
	var e50, e95 float64
	if m.emaWeight > 0 {
		set, e50, e95 = true, m.ema50/m.emaWeight, m.ema95/m.emaWeight
	}
	s := &series{ring: []subWindow{{counts: m.c}}, emaSet: set, emaP50: e50, emaP95: e95}
	return dist(s)
}

// ClusterDistribution merges the replicas' bucket and class counts.
func ClusterDistribution(parts []ClusterPart, route string) ClusterDistributionReport {
	cm := mergeParts(parts, route)
	r := ClusterDistributionReport{Scope: "cluster", Unit: "ms", BucketEdgesMS: BucketEdgesMS,
		EMARule: ClusterEMARule, Overall: cm.overall.dist(), Routes: map[string]Dist{},
		Replicas: cm.replicas, Skipped: cm.skipped}
	for k, m := range cm.routes {
		r.Routes[k] = m.dist()
	}
	return r
}

// ClusterSupported reports whether this replica can export its window.
func (e *Engine) ClusterSupported() error {
	if e.info.Name != "tdigest" {
		return fmt.Errorf("%w: this replica runs the %s estimator (%s)", ErrClusterUnsupported, e.info.Name, e.info.Reason)
	}
	return nil
}
