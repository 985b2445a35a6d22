package service

import (
	"fmt"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

// reportSettings logs, the same way for every group, the settings given for
// groups this binary does not link (config recorded them; /__phase lists
// them; STRICT_SETTINGS already refused them), and under MINIMAL_MODE the
// settings of linked groups that are not in force because their group does
// not start.
func reportSettings(cfg *config.Config, rt *lifecycle.Runtime, pl *phase.Log) {
	for _, s := range cfg.Ignored {
		if s.Unknown {
			pl.Warn("settings", fmt.Sprintf("SETTINGS: %s is ignored: %s; STRICT_SETTINGS=1 refuses it", s.Name, s.Why()))
			continue
		}
		pl.Warn("settings", fmt.Sprintf("SETTINGS: %s is ignored: it belongs to the %s group, which is not linked into the %s variant (it comes with %s; STRICT_SETTINGS=1 refuses it)",
			s.Name, s.Group, s.Variant, s.HowToLink))
	}
	if !cfg.MinimalMode {
		return
	}
	for _, g := range rt.LinkedNames() {
		for _, name := range cfg.Group(g).GivenNames() {
			pl.Warn("mode", fmt.Sprintf("INIT: %s is set but MINIMAL_MODE keeps the %s group from starting: it is not loaded", name, g))
		}
	}
}
