package groupapi

import (
	"go/build"
	"testing"
)

// TestImportsOnlyTheStandardLibrary: the contracts core and the groups
// meet through link nothing (no gin, no Prometheus, no project package),
// so a provider implements them without linking the router or the registry.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("no imports found: the test reads the wrong directory")
	}
	for _, imp := range pkg.Imports {
		p, err := build.Import(imp, ".", build.FindOnly)
		if err != nil {
			t.Fatalf("%s: %v", imp, err)
		}
		if !p.Goroot {
			t.Errorf("groupapi imports %s, which is not in the standard library", imp)
		}
	}
}
