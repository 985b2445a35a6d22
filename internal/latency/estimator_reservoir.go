//go:build notdigest

package latency

import "fmt"

// Select returns the reservoir: the notdigest build links no t-digest.
func Select(compression float64, reservoirSize int) Choice {
	return Reservoir(reservoirSize, "built with the notdigest tag")
}

// decodeEstimator: the notdigest build merges no published digests.
func decodeEstimator(name string, _ []byte) (Estimator, error) {
	return nil, fmt.Errorf("estimator %q cannot be merged: this binary is built with the notdigest tag", name)
}
