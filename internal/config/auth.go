package config

// AuthConfig configures JWT auth and users.
type AuthConfig struct{}

func authVars() []Var { return nil }
