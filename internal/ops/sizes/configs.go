// Package sizes builds every variant, and lean plus one group and full
// minus one group, with fixed flags, and measures each binary: size, the
// modules it links, the time from exec to the first 200 on /health and the
// idle resident memory. Builds are cached by tag set and source state.
package sizes

import (
	"slices"
	"strings"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// Config is one build to measure.
type Config struct {
	Name string   `json:"name"`
	Kind string   `json:"kind"` // variant, lean+group, full-group
	Tags []string `json:"tags"`
	// Group is the group added to lean or removed from full.
	Group string `json:"group,omitempty"`
	// SameAs names an earlier config with the same tag set (measured once).
	SameAs string `json:"same_as,omitempty"`
}

// Configs lists the variants from the registry, then lean+<group> and
// full-<group> for every group. A config whose tag set equals an earlier
// one's is marked SameAs and not built twice.
func Configs() []Config {
	var out []Config
	seen := map[string]string{}
	add := func(c Config) {
		key := tagKey(c.Tags)
		if first, ok := seen[key]; ok {
			c.SameAs = first
		} else {
			seen[key] = c.Name
		}
		out = append(out, c)
	}
	for _, v := range groupspec.Variants() {
		tags, _ := groupspec.VariantTags(v.Name)
		add(Config{Name: v.Name, Kind: "variant", Tags: tags})
	}
	lean, _ := groupspec.VariantTags("lean")
	full, _ := groupspec.VariantTags("full")
	for _, g := range groupspec.GroupNames() {
		add(Config{Name: "lean+" + g, Kind: "lean+group", Group: g, Tags: append(slices.Clone(lean), g)})
	}
	for _, g := range groupspec.GroupNames() {
		add(Config{Name: "full-" + g, Kind: "full-group", Group: g,
			Tags: slices.DeleteFunc(slices.Clone(full), func(t string) bool { return t == g })})
	}
	return out
}

// tagKey is a canonical form of a tag set.
func tagKey(tags []string) string {
	s := slices.Clone(tags)
	slices.Sort(s)
	return strings.Join(s, ",")
}
