// Package ml is the local analytics group (build tag ml): robust statistics
// over the service's own latency data, computed with gonum. It reads latency
// only through the capability.LatencyKey service it declares, never the
// engine's package.
//
//	GET  /api/v2/ml/anomalies        per route: robust score of the window p95, KS test, anomalous, why
//	POST /api/v2/ml/baseline/train   snapshot the current distributions as the baseline (admin)
//	POST /api/v2/ml/detect           {series, method: mad|zscore|iqr, threshold?} -> outliers
package ml

import (
	"context"
	"fmt"
	"net/http"

	"github.com/advanced-backend/advanced-backend/features/groupdesc"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

func init() {
	capability.Register(capability.GroupInfo{Name: groupdesc.ML.Name, New: func(v config.Values) groupapi.Feature { return newFeature(v) }, Settings: Settings(),
		Uses: capability.Uses{Reads: []groupapi.AnyKey{capability.LatencyKey}}})
}

// Settings are the ml group's settings, as registered and documented.
func Settings() []config.Setting { return settings(&feature{}) }

// settings declares each setting once, bound to the field of f it fills.
func settings(f *feature) []config.Setting {
	return []config.Setting{
		config.Bind(&f.maxSeries, config.Int("ML_MAX_SERIES", 100_000, 4, 10_000_000, "ml: bound on the length of a series sent to /api/v2/ml/detect (413 beyond)")),
		config.Bind(&f.minHistory, config.Int("ML_MIN_HISTORY", 8, 3, 100_000, "ml: past window p95 values a route needs before it gets an anomaly score")),
	}
}

// newFeature builds an instance with its settings bound.
func newFeature(v config.Values) *feature {
	f := &feature{}
	v.Into(settings(f))
	return f
}

type feature struct {
	latencySrc groupapi.Source[groupapi.LatencySource] // nil before Setup
	maxSeries  int
	minHistory int
	baseline   baselineStore
}

// Setup mounts the routes; it does no I/O.
func (f *feature) Setup(h *groupapi.Host) error {
	src, err := groupapi.SourceOf(h.Services, capability.LatencyKey)
	if err != nil {
		return err
	}
	f.latencySrc = src
	h.Routes.Handle(http.MethodGet, "/api/v2/ml/anomalies", http.HandlerFunc(f.anomalies))
	h.Routes.Handle(http.MethodPost, "/api/v2/ml/baseline/train", http.HandlerFunc(f.train), groupapi.AdminOnly)
	h.Routes.Handle(http.MethodPost, "/api/v2/ml/detect", http.HandlerFunc(f.detect))
	return nil
}

func (f *feature) Start(ctx context.Context) error { return nil }
func (f *feature) Stop(ctx context.Context) error  { return nil }

func (f *feature) Status() groupapi.Status {
	src := "no latency source yet: /anomalies and /baseline/train answer 503"
	if f.latencySrc != nil {
		if _, ok := f.latencySrc.Get(); ok {
			src = "reading the latency engine"
		}
	}
	return groupapi.Status{Ready: true, Detail: fmt.Sprintf("mad/zscore/iqr detection and KS baselines (gonum/stat); %s", src)}
}
