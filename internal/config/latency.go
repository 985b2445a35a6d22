package config

import (
	"fmt"
	"time"
)

// LatencyConfig configures the latency engine.
type LatencyConfig struct {
	Window        time.Duration // LATENCY_WINDOW: the sliding window of the quantiles
	SubWindows    int           // LATENCY_SUBWINDOWS: sub-windows the window rotates through
	Compression   float64       // TDIGEST_COMPRESSION: t-digest compression (< 1: reservoir fallback)
	ReservoirSize int           // LATENCY_RESERVOIR_SIZE: reservoir sample and tail size
	EMAAlpha      float64       // LATENCY_EMA_ALPHA: EMA weight of the newest sub-window
	FlushInterval time.Duration // LATENCY_FLUSH_INTERVAL: background ingestion period
	ShardBuffer   int           // LATENCY_SHARD_BUFFER: samples one recording shard holds
}

func latencySettings(l *LatencyConfig) []Setting {
	return []Setting{
		Bind(&l.Window, DurationText("LATENCY_WINDOW", "300s", 10*time.Second, 24*time.Hour,
			"sliding window the latency quantiles cover")),
		Bind(&l.SubWindows, Int("LATENCY_SUBWINDOWS", 10, 2, 600,
			"sub-windows the window is a ring of; one closes (and feeds the EMA) every window/subwindows")),
		Bind(&l.Compression, Float("TDIGEST_COMPRESSION", 100, 0, 10000,
			"t-digest compression; below 1 the t-digest refuses it and the reservoir estimator runs instead")),
		Bind(&l.ReservoirSize, Int("LATENCY_RESERVOIR_SIZE", 2048, 64, 1<<20,
			"reservoir estimator: priority-sample size (slow requests kept with higher probability) and exact-tail size per estimator")),
		Bind(&l.EMAAlpha, emaAlpha()),
		Bind(&l.FlushInterval, DurationText("LATENCY_FLUSH_INTERVAL", "100ms", time.Millisecond, 10*time.Second,
			"how often recorded latencies are moved into the estimators off the request path")),
		Bind(&l.ShardBuffer, Int("LATENCY_SHARD_BUFFER", 4096, 64, 1<<20,
			"samples one recording shard buffers between ingestions; beyond it samples are dropped and counted")),
	}
}

// emaAlpha is a Float in (0, 1]: 0 would freeze the EMA at its first value.
func emaAlpha() Setting {
	s := Parsed("LATENCY_EMA_ALPHA", "0.3", "weight of the newest sub-window's p50/p95 in the EMA",
		func(v string) (float64, error) {
			var f float64
			if err := setFloat(&f, v, 0, 1); err != nil {
				return 0, err
			}
			if f == 0 {
				return 0, fmt.Errorf("want a number with 0 < alpha <= 1")
			}
			return f, nil
		})
	s.Bounds = "0 < alpha <= 1"
	return s
}

// validateLatency checks the latency rules that span settings.
func (c *Config) validateLatency() error {
	if sub := c.Latency.Window / time.Duration(c.Latency.SubWindows); sub < time.Second {
		return &Error{Var: "LATENCY_SUBWINDOWS", Value: fmt.Sprint(c.Latency.SubWindows),
			Err: fmt.Errorf("LATENCY_WINDOW %s over %d sub-windows gives %s each, want at least 1s", c.Latency.Window, c.Latency.SubWindows, sub)}
	}
	return nil
}
