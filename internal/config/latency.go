package config

// LatencyConfig configures the latency engine.
type LatencyConfig struct{}

func latencyVars() []Var { return nil }
