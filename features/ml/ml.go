// Package ml is the local analytics group (build tag ml): robust statistics
// over the service's own latency data, computed with gonum. Its HTTP routes
// (anomalies, baseline training, detection) come with the ml issue.
package ml

import (
	"context"
	"errors"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/advanced-backend/advanced-backend/internal/capability"
)

func init() { capability.Register("ml", &feature{}) }

type feature struct{}

func (f *feature) Setup(h *capability.Host) error  { return nil }
func (f *feature) Start(ctx context.Context) error { return nil }
func (f *feature) Stop(ctx context.Context) error  { return nil }
func (f *feature) Status() capability.Status {
	return capability.Status{Ready: true, Detail: "local analytics engine (gonum/stat); HTTP routes not built yet"}
}

// MADScores returns the robust z-score of each value: 0.6745*(x-median)/MAD.
// It fails for fewer than 3 values or a zero MAD, where the score is undefined.
func MADScores(series []float64) ([]float64, error) {
	if len(series) < 3 {
		return nil, errors.New("need at least 3 values")
	}
	sorted := append([]float64(nil), series...)
	sort.Float64s(sorted)
	med := stat.Quantile(0.5, stat.Empirical, sorted, nil)
	dev := make([]float64, len(series))
	for i, x := range series {
		dev[i] = abs(x - med)
	}
	sort.Float64s(dev)
	mad := stat.Quantile(0.5, stat.Empirical, dev, nil)
	if mad == 0 {
		return nil, errors.New("median absolute deviation is zero")
	}
	out := make([]float64, len(series))
	for i, x := range series {
		out[i] = 0.6745 * (x - med) / mad
	}
	return out, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
