package config

// MLConfig configures the ml group.
type MLConfig struct {
	// MaxSeries bounds the length of a series sent to /api/v2/ml/detect.
	MaxSeries int
	// MinHistory is how many past window p95 values a route needs before
	// its anomaly score is computed.
	MinHistory int
}

func mlVars() []Var {
	return []Var{
		{Env: "ML_MAX_SERIES", Flag: "ml-max-series", Default: "100000",
			Help: "ml: bound on the length of a series sent to /api/v2/ml/detect (413 beyond)",
			set:  func(c *Config, v string) error { return setInt(&c.ML.MaxSeries, v, 4, 10_000_000) }},
		{Env: "ML_MIN_HISTORY", Flag: "ml-min-history", Default: "8",
			Help: "ml: past window p95 values a route needs before it gets an anomaly score",
			set:  func(c *Config, v string) error { return setInt(&c.ML.MinHistory, v, 3, 100_000) }},
	}
}
