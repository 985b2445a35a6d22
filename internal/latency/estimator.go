// Package latency is the adaptive latency engine. This file only reports
// which quantile estimator the build carries; the engine itself comes with
// the latency issue.
package latency

// EstimatorInfo says which estimator runs and why.
type EstimatorInfo struct {
	Name     string `json:"name"`     // "tdigest" or "reservoir"
	Fallback bool   `json:"fallback"` // true when the reservoir replaces the t-digest
	Reason   string `json:"reason"`
}
