package opssmoke

import (
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

func TestGroupCases(t *testing.T) {
	opt, _ := groupspec.LookupGroup("optional") // two route prefixes
	for _, tc := range []struct {
		linked, enabled bool
		status          int
		code            string
	}{{false, false, 501, "group_not_linked"}, {true, false, 503, "group_disabled"}, {true, true, 404, "not_found"}} {
		cs := GroupCases(opt, tc.linked, tc.enabled)
		if len(cs) < len(opt.RoutePrefixes) {
			t.Fatalf("%d cases for %d prefixes", len(cs), len(opt.RoutePrefixes))
		}
		for i, p := range opt.RoutePrefixes {
			c := cs[i]
			if c.Status != tc.status || c.ErrorCode != tc.code || c.Path != p+"/smoke-probe" {
				t.Errorf("linked=%v enabled=%v: %+v", tc.linked, tc.enabled, c)
			}
		}
	}
}

func TestCoreCasesNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range CoreCases() {
		if seen[c.Name] {
			t.Errorf("duplicate case %s", c.Name)
		}
		seen[c.Name] = true
	}
}
