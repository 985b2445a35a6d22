// Package latency is the adaptive latency engine: per-route quantile
// estimators over a sliding window of rotating sub-windows, a lifetime view,
// an EMA of the p95 and p50 per route, adaptive latency classes, histogram
// buckets, and the cheap sharded recording path that feeds them.
//
// Two estimators implement Estimator: the t-digest
// (github.com/caio/go-tdigest/v4, the default) and a pure-stdlib reservoir
// (reservoir.go) that replaces it in binaries built with the notdigest tag,
// or when the t-digest cannot be built from the configuration.
package latency

import (
	"errors"
	"math"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
)

// ErrNotFinite rejects NaN and infinite samples.
var ErrNotFinite = errors.New("latency sample is NaN or infinite")

// Estimator estimates quantiles of a stream of values. Implementations are
// not safe for concurrent use: the engine serialises every call under its
// own lock.
type Estimator interface {
	// Add records one finite value; NaN and Inf are rejected with ErrNotFinite.
	Add(v float64) error
	// Quantile returns the q-quantile (0 <= q <= 1), interpolating between
	// order statistics at rank q*(n-1). It returns NaN when empty.
	Quantile(q float64) float64
	// Count is the number of values represented.
	Count() uint64
	// Merge adds other's values; other must come from the same Factory and
	// is only read.
	Merge(other Estimator) error
	// Clone returns an independent copy.
	Clone() Estimator
	// Reset empties the estimator.
	Reset()
}

// Factory makes empty estimators of one kind.
type Factory func() Estimator

// Choice is the outcome of estimator selection.
type Choice struct {
	New  Factory
	Info capreport.Estimator
}

// Reservoir returns the reservoir choice with the given reason.
func Reservoir(size int, reason string) Choice {
	return Choice{New: NewReservoirFactory(size), Info: capreport.Estimator{Name: "reservoir", Fallback: true, Reason: reason}}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
