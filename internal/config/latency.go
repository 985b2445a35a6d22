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

func latencyVars() []Var {
	return []Var{
		{Env: "LATENCY_WINDOW", Flag: "latency-window", Default: "300s",
			Help: "sliding window the latency quantiles cover (10s-24h)",
			set: func(c *Config, v string) error {
				return setDuration(&c.Latency.Window, v, 10*time.Second, 24*time.Hour)
			}},
		{Env: "LATENCY_SUBWINDOWS", Flag: "latency-subwindows", Default: "10",
			Help: "sub-windows the window is a ring of; one closes (and feeds the EMA) every window/subwindows (2-600)",
			set:  func(c *Config, v string) error { return setInt(&c.Latency.SubWindows, v, 2, 600) }},
		{Env: "TDIGEST_COMPRESSION", Flag: "tdigest-compression", Default: "100",
			Help: "t-digest compression (0-10000); below 1 the t-digest refuses it and the reservoir estimator runs instead",
			set:  func(c *Config, v string) error { return setFloat(&c.Latency.Compression, v, 0, 10000) }},
		{Env: "LATENCY_RESERVOIR_SIZE", Flag: "latency-reservoir-size", Default: "2048",
			Help: "reservoir estimator: priority-sample size (slow requests kept with higher probability) and exact-tail size per estimator (64-1048576)",
			set:  func(c *Config, v string) error { return setInt(&c.Latency.ReservoirSize, v, 64, 1<<20) }},
		{Env: "LATENCY_EMA_ALPHA", Flag: "latency-ema-alpha", Default: "0.3",
			Help: "weight of the newest sub-window's p50/p95 in the EMA (0 < alpha <= 1)",
			set: func(c *Config, v string) error {
				if err := setFloat(&c.Latency.EMAAlpha, v, 0, 1); err != nil {
					return err
				}
				if c.Latency.EMAAlpha == 0 {
					return fmt.Errorf("want a number with 0 < alpha <= 1")
				}
				return nil
			}},
		{Env: "LATENCY_FLUSH_INTERVAL", Flag: "latency-flush-interval", Default: "100ms",
			Help: "how often recorded latencies are moved into the estimators off the request path (1ms-10s)",
			set: func(c *Config, v string) error {
				return setDuration(&c.Latency.FlushInterval, v, time.Millisecond, 10*time.Second)
			}},
		{Env: "LATENCY_SHARD_BUFFER", Flag: "latency-shard-buffer", Default: "4096",
			Help: "samples one recording shard buffers between ingestions; beyond it samples are dropped and counted (64-1048576)",
			set:  func(c *Config, v string) error { return setInt(&c.Latency.ShardBuffer, v, 64, 1<<20) }},
	}
}

// validateLatency checks the latency rules that span settings.
func (c *Config) validateLatency() error {
	if sub := c.Latency.Window / time.Duration(c.Latency.SubWindows); sub < time.Second {
		return &Error{Var: "LATENCY_SUBWINDOWS", Value: fmt.Sprint(c.Latency.SubWindows),
			Err: fmt.Errorf("LATENCY_WINDOW %s over %d sub-windows gives %s each, want at least 1s", c.Latency.Window, c.Latency.SubWindows, sub)}
	}
	return nil
}
