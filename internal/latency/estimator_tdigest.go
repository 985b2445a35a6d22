//go:build !notdigest

package latency

import (
	"fmt"
	"sync/atomic"

	"github.com/caio/go-tdigest/v4"
)

// Select returns the t-digest with the given compression, or the reservoir
// (with the reason) when the t-digest rejects the configuration.
func Select(compression float64, reservoirSize int) Choice {
	f, err := NewTDigestFactory(compression)
	if err != nil {
		return Reservoir(reservoirSize, fmt.Sprintf("t-digest rejected TDIGEST_COMPRESSION=%g: %v", compression, err))
	}
	return Choice{New: f, Info: EstimatorInfo{Name: "tdigest",
		Reason: fmt.Sprintf("github.com/caio/go-tdigest/v4 linked, compression %g", compression)}}
}

// NewTDigestFactory returns a factory of t-digests, or the error the
// library gives for this compression. Each digest gets its own seeded RNG
// (the library's default source would otherwise be shared).
func NewTDigestFactory(compression float64) (Factory, error) {
	if _, err := tdigest.New(tdigest.Compression(compression)); err != nil {
		return nil, fmt.Errorf("tdigest.New: %w", err)
	}
	var seed atomic.Int64
	return func() Estimator {
		d, err := tdigest.New(tdigest.Compression(compression), tdigest.LocalRandomNumberGenerator(seed.Add(1)))
		if err != nil { // checked above; unreachable for a fixed compression
			panic(fmt.Sprintf("tdigest.New(%g): %v", compression, err))
		}
		return &tdigestEstimator{d: d}
	}, nil
}

// tdigestEstimator adapts go-tdigest. Clones share the RNG of their source,
// which is safe only because the engine serialises all digest calls.
type tdigestEstimator struct{ d *tdigest.TDigest }

func (t *tdigestEstimator) Add(v float64) error {
	if !finite(v) {
		return ErrNotFinite
	}
	if err := t.d.Add(v); err != nil {
		return fmt.Errorf("tdigest add: %w", err)
	}
	return nil
}

func (t *tdigestEstimator) Quantile(q float64) float64 {
	if t.d.Count() == 0 || q < 0 || q > 1 {
		return nan
	}
	return t.d.Quantile(q)
}

func (t *tdigestEstimator) Count() uint64 { return t.d.Count() }

func (t *tdigestEstimator) Merge(other Estimator) error {
	o, ok := other.(*tdigestEstimator)
	if !ok {
		return fmt.Errorf("tdigest merge: cannot merge %T", other)
	}
	if err := t.d.Merge(o.d); err != nil {
		return fmt.Errorf("tdigest merge: %w", err)
	}
	return nil
}

func (t *tdigestEstimator) Clone() Estimator { return &tdigestEstimator{d: t.d.Clone()} }
func (t *tdigestEstimator) Reset()           { t.d.Reset() }
