//go:build !notdigest

package latency

import "testing"

// The t-digest's documented bounds at compression 100 (the default): value
// error <= 0.1% up to p99 and <= 0.5% at p99.9, relative to the exact value.
var tdigestBounds = bounds{0.5: 0.001, 0.9: 0.001, 0.95: 0.001, 0.99: 0.001, 0.999: 0.005}

func TestTDigestAccuracy(t *testing.T) {
	f, err := NewTDigestFactory(100)
	if err != nil {
		t.Fatal(err)
	}
	checkAccuracy(t, f, 1, tdigestBounds)
}

// The sliding window merges its sub-windows on read: one million values
// spread over ten digests and merged keep the bounds.
func TestTDigestAccuracyMerged(t *testing.T) {
	f, err := NewTDigestFactory(100)
	if err != nil {
		t.Fatal(err)
	}
	checkAccuracy(t, f, 10, tdigestBounds)
}
