package config

// OptionalConfig configures the optional group.
type OptionalConfig struct{}

func optionalVars() []Var { return nil }
