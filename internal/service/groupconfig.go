package service

import (
	"fmt"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

// groupSetting is a setting only one group reads: a variant without that
// group refuses it rather than silently ignoring it.
type groupSetting struct {
	env   string
	group string
	value func(*config.Config) string
}

var groupSettings = []groupSetting{
	{env: "REGISTRY_FILE", group: "optional", value: func(c *config.Config) string { return c.Optional.RegistryFile }},
}

// minimalModeIgnored lists the group-only settings that are set while
// MINIMAL_MODE keeps their group from starting, so the phase log can say
// they are not in force.
func minimalModeIgnored(cfg *config.Config, rt *capability.Runtime) []string {
	if !cfg.MinimalMode {
		return nil
	}
	var out []string
	for _, s := range groupSettings {
		if s.value(cfg) != "" && rt.Linked(s.group) {
			out = append(out, fmt.Sprintf("%s is set but MINIMAL_MODE keeps the %s group from starting: it is not loaded", s.env, s.group))
		}
	}
	return out
}

// checkGroupSettings returns a *config.Error (exit code 2 in main) for a
// group-only setting given to a variant that does not link the group.
func checkGroupSettings(cfg *config.Config, rt *capability.Runtime) error {
	for _, s := range groupSettings {
		v := s.value(cfg)
		if v == "" || rt.Linked(s.group) {
			continue
		}
		return &config.Error{Var: s.env, Value: v, Err: fmt.Errorf(
			"%s needs the %s group, which is not linked into the %s variant (rebuild with -tags %s)",
			s.env, s.group, rt.Variant(), s.group)}
	}
	return nil
}
