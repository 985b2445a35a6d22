package groupspec

import (
	"slices"
	"strings"
	"testing"
)

// declared replaces the table with gs for one test (the package declares
// no group itself; the real descriptions are features/groupdesc's, tested
// there).
func declared(t *testing.T, gs ...Group) {
	t.Helper()
	mu.Lock()
	saved := groups
	groups = nil
	mu.Unlock()
	t.Cleanup(func() { mu.Lock(); groups = saved; mu.Unlock() })
	for _, g := range gs {
		Declare(g)
	}
}

func fixture() []Group {
	return []Group{
		{Name: "b", Rank: 20, Variants: []string{"full", "hybrid"}, RoutePrefixes: []string{"/api/v2/b", "/v1"}, OpenAIPrefixes: []string{"/v1"},
			Modules: []string{"m/b"}, Heavy: []string{"bee"}, SettingPrefixes: []string{"B_"}},
		{Name: "a", Rank: 10, Variants: []string{"full"}, RoutePrefixes: []string{"/api/v2/a"}, Modules: []string{"m/a", "m/shared"},
			Shared: []string{"m/shared"}, Heavy: []string{"ay"}, SettingPrefixes: []string{"A_"}},
	}
}

// TestVariantsTakeTheirGroupsFromTheDescriptions: a variant holds exactly
// the groups that name it, in rank order, whatever order they declared in.
func TestVariantsTakeTheirGroupsFromTheDescriptions(t *testing.T) {
	declared(t, fixture()...)
	if got := GroupNames(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("table order %v", got)
	}
	full, _ := LookupVariant("full")
	lean, _ := LookupVariant("lean")
	if !slices.Equal(full.Groups, []string{"a", "b"}) || len(lean.Groups) != 0 {
		t.Fatalf("full %v lean %v", full.Groups, lean.Groups)
	}
	if tags, _ := VariantTags("hybrid"); !slices.Equal(tags, []string{"nomsgpack", "grpcnotrace", "b"}) {
		t.Fatalf("hybrid tags %v", tags)
	}
	if VariantFor([]string{"b", "a"}) != "full" || VariantFor(nil) != "lean" || VariantFor([]string{"a"}) != "custom" {
		t.Fatal("VariantFor")
	}
	if _, err := VariantTags("huge"); err == nil {
		t.Fatal("unknown variant accepted")
	}
	if got := HeavyKeys(); !slices.Equal(got, []string{"ay", "bee", "torch", "langchain", "tensorflow"}) {
		t.Fatalf("heavy keys %v", got)
	}
	if h := HowToLink("b"); h != "variant hybrid or full, or build tag b" {
		t.Fatal(h)
	}
	if got := OpenAIPrefixes(); !slices.Equal(got, []string{"/v1"}) {
		t.Fatal(got)
	}
	a, _ := LookupGroup("a")
	if !slices.Equal(a.Exclusive(), []string{"m/a"}) {
		t.Fatalf("exclusive %v", a.Exclusive())
	}
}

func TestDeclareRefusesMisuse(t *testing.T) {
	for name, g := range map[string]Group{
		"twice":           {Name: "a", SettingPrefixes: []string{"Z_"}},
		"unknown variant": {Name: "c", SettingPrefixes: []string{"C_"}, Variants: []string{"huge"}},
		"no prefix":       {Name: "c"},
		"prefix overlap":  {Name: "c", SettingPrefixes: []string{"A_X_"}},
		"route taken":     {Name: "c", SettingPrefixes: []string{"C_"}, RoutePrefixes: []string{"/v1"}},
		"core tag":        {Name: "nomsgpack", SettingPrefixes: []string{"C_"}},
		"not a tag":       {Name: "C D", SettingPrefixes: []string{"C_"}},
	} {
		t.Run(name, func(t *testing.T) {
			declared(t, fixture()...)
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "groupspec: Declare") {
					t.Fatalf("declared: %v", r)
				}
			}()
			Declare(g)
		})
	}
}

func TestGroupForPathAndSetting(t *testing.T) {
	declared(t, fixture()...)
	for path, want := range map[string]string{
		"/api/v2/b/chat": "b",
		"/api/v2/b":      "b",
		"/v1/models":     "b",
		"/api/v2/a/x":    "a",
		"/api/v2/bx":     "",
		"/health":        "",
	} {
		g, ok := GroupForPath(path)
		if (want == "") == ok || g.Name != want {
			t.Errorf("%s: got %q %v, want %q", path, g.Name, ok, want)
		}
	}
	if g, ok := GroupForSetting("A_URL"); !ok || g.Name != "a" {
		t.Fatal("A_URL")
	}
	if _, ok := GroupForSetting("ADDR"); ok {
		t.Fatal("ADDR is core")
	}
}
