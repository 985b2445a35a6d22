package releasecheck

import (
	"fmt"

	"github.com/goccy/go-yaml"
)

// RestrictGOOS returns a goreleaser configuration whose builds target only
// the given OSes (keeping their arches): a linux-only snapshot is what
// .ci/run can afford (a full one takes ~18 min cold on 2 cores). The rest of
// the file, order included, is kept.
func RestrictGOOS(cfg []byte, goos []string) ([]byte, error) {
	var doc yaml.MapSlice
	if err := yaml.UnmarshalWithOptions(cfg, &doc, yaml.UseOrderedMap()); err != nil {
		return nil, fmt.Errorf("goreleaser config: %w", err)
	}
	n := 0
	for _, top := range doc {
		if top.Key != "builds" {
			continue
		}
		builds, ok := top.Value.([]any)
		if !ok {
			return nil, fmt.Errorf("goreleaser config: builds is %T, not a list", top.Value)
		}
		for _, b := range builds {
			build, ok := b.(yaml.MapSlice)
			if !ok {
				return nil, fmt.Errorf("goreleaser config: a build is %T, not a map", b)
			}
			for i := range build {
				if build[i].Key == "goos" {
					build[i].Value = goos
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("goreleaser config: no build sets goos")
	}
	return yaml.Marshal(doc)
}
