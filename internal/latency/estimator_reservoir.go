//go:build notdigest

package latency

// Estimator reports the reservoir: the notdigest build links no t-digest.
func Estimator(compression float64) EstimatorInfo {
	return EstimatorInfo{Name: "reservoir", Fallback: true, Reason: "built with the notdigest tag"}
}
