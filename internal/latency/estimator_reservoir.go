//go:build notdigest

package latency

// Select returns the reservoir: the notdigest build links no t-digest.
func Select(compression float64, reservoirSize int) Choice {
	return Reservoir(reservoirSize, "built with the notdigest tag")
}
