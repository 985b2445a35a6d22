//go:build !notdigest

package latency

import (
	"fmt"

	"github.com/caio/go-tdigest/v4"
)

// Estimator reports the t-digest unless it cannot be constructed.
func Estimator(compression float64) EstimatorInfo {
	if _, err := tdigest.New(tdigest.Compression(compression)); err != nil {
		return EstimatorInfo{Name: "reservoir", Fallback: true, Reason: fmt.Sprintf("t-digest rejected compression %g: %v", compression, err)}
	}
	return EstimatorInfo{Name: "tdigest", Reason: "github.com/caio/go-tdigest/v4 linked"}
}
