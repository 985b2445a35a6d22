package groupdesc_test

import (
	"slices"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/groupdesc"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// TestDescriptionsAreTheTable: what the descriptions declare is what the
// table answers (Declare refused nothing), and each description's smoke
// cases stay under its own route prefixes.
func TestDescriptionsAreTheTable(t *testing.T) {
	for _, d := range []groupspec.Group{groupdesc.ML, groupdesc.LLM, groupdesc.Vector, groupdesc.Optional} {
		g, ok := groupspec.LookupGroup(d.Name)
		if !ok || g.Package != groupspec.ModulePath+"/features/"+d.Name {
			t.Errorf("%s: declared %v, package %s", d.Name, ok, g.Package)
		}
		for _, c := range d.Smoke {
			if sg, ok := groupspec.GroupForPath(c.Path); !ok || sg.Name != d.Name {
				t.Errorf("%s: smoke case %q is outside the group's routes", d.Name, c.Name)
			}
		}
		for _, m := range d.Shared {
			if !slices.Contains(d.Modules, m) {
				t.Errorf("%s: shared module %s is not among its modules", d.Name, m)
			}
		}
	}
}
