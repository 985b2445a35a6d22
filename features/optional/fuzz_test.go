package optional

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the registry loader as YAML and as
// JSON. It must never panic; a rejection must be a ParseError with a
// message; an accepted registry must survive a round trip through its JSON
// form (which is the JSON file format) unchanged. Seeds live in
// testdata/fuzz/FuzzParse; run with go test -fuzz FuzzParse ./features/optional.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodYAML), false)
	f.Add([]byte(goodJSON), true)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := "fuzz.yaml"
		if asJSON {
			name = "fuzz.json"
		}
		reg, _, err := Parse(name, data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Msg == "" || pe.Line < 0 || pe.File != name {
				t.Fatalf("rejection is not a ParseError with a message: %#v", err)
			}
			return
		}
		if len(reg.SLO) > maxSectionEntries || len(reg.RateLimits) > maxSectionEntries {
			t.Fatalf("bounds not enforced: %d slo, %d rate limits", len(reg.SLO), len(reg.RateLimits))
		}
		if g, ok := reg.Groups[registryGroupName]; ok && !g.Enabled {
			t.Fatal("optional switched itself off")
		}
		js, err := json.Marshal(reg)
		if err != nil {
			t.Fatalf("marshal accepted registry: %v", err)
		}
		again, _, err := Parse("roundtrip.json", js)
		if err != nil {
			t.Fatalf("round trip of %s rejected: %v", js, err)
		}
		if !reflect.DeepEqual(reg, again) {
			t.Fatalf("round trip changed the registry:\n%+v\n%+v", reg, again)
		}
	})
}
