//go:build !notdigest

package latency

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/caio/go-tdigest/v4"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
)

// Select returns the t-digest with the given compression, or the reservoir
// (with the reason) when the t-digest rejects the configuration.
func Select(compression float64, reservoirSize int) Choice {
	f, err := NewTDigestFactory(compression)
	if err != nil {
		return Reservoir(reservoirSize, fmt.Sprintf("t-digest rejected TDIGEST_COMPRESSION=%g: %v", compression, err))
	}
	return Choice{New: f, Info: capreport.Estimator{Name: "tdigest",
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

// MarshalBinary serializes a compressed copy of the digest in go-tdigest's
// own format (AsBytes): 16 bytes of header, 4 bytes per centroid mean, a
// varint per count.
func (t *tdigestEstimator) MarshalBinary() ([]byte, error) {
	c := t.d.Clone()
	if err := c.Compress(); err != nil {
		return nil, fmt.Errorf("tdigest compress: %w", err)
	}
	b, err := c.AsBytes()
	if err != nil {
		return nil, fmt.Errorf("tdigest marshal: %w", err)
	}
	return b, nil
}

// decodeEstimator rebuilds an estimator that MarshalBinary serialized.
func decodeEstimator(name string, b []byte) (Estimator, error) {
	if name != "tdigest" {
		return nil, fmt.Errorf("estimator %q cannot be merged by this replica (tdigest)", name)
	}
	// go-tdigest allocates for the centroid count of the header before it
	// reads them: refuse a count the buffer cannot hold (4 bytes of mean
	// and at least one byte of count each), so a corrupt payload cannot
	// make it allocate more than its own size.
	if len(b) < 16 {
		return nil, fmt.Errorf("tdigest unmarshal: %d bytes, want at least 16", len(b))
	}
	if n := binary.BigEndian.Uint32(b[12:16]); uint64(n)*5 > uint64(len(b)-16) {
		return nil, fmt.Errorf("tdigest unmarshal: %d centroids do not fit in %d bytes", n, len(b))
	}
	// The method, not the package's FromBytes: that one reads through
	// encoding/binary's reflection-based Read (about 15 KB of every binary);
	// the method decodes the same format by hand (compression, centroids and
	// counts from the payload; the RNG the digest was made with), and
	// refuses bytes after the digest, which the function ignored (a replica
	// sends exactly what MarshalBinary wrote).
	d, err := tdigest.New(tdigest.LocalRandomNumberGenerator(int64(len(b)) + 1))
	if err != nil {
		return nil, fmt.Errorf("tdigest unmarshal: %w", err)
	}
	if err := d.FromBytes(b); err != nil {
		return nil, fmt.Errorf("tdigest unmarshal: %w", err)
	}
	return &tdigestEstimator{d: d}, nil
}
