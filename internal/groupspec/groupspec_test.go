package groupspec

import (
	"slices"
	"strings"
	"testing"
)

func TestVariantTable(t *testing.T) {
	want := map[string][]string{"lean": nil, "hybrid": {"llm"}, "prodapi": {"vector", "optional"}, "full": {"ml", "llm", "vector", "optional"}}
	for name, groups := range want {
		tags, err := VariantTags(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tags, append([]string{"nomsgpack", "grpcnotrace"}, groups...)) {
			t.Errorf("%s: tags %v", name, tags)
		}
		if VariantFor(groups) != name {
			t.Errorf("VariantFor(%v) = %s", groups, VariantFor(groups))
		}
		for _, g := range groups {
			if _, ok := LookupGroup(g); !ok {
				t.Errorf("variant %s names unknown group %s", name, g)
			}
		}
	}
	if len(Variants()) != len(want) {
		t.Fatalf("variants: %v", VariantNames())
	}
	if VariantFor([]string{"ml"}) != "custom" {
		t.Fatal("custom set")
	}
	if _, err := VariantTags("huge"); err == nil {
		t.Fatal("unknown variant accepted")
	}
}

func TestGroupForPath(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v2/llm/chat":                    "llm",
		"/api/v2/llm":                         "llm",
		"/api/v2/vector/collections/x/search": "vector",
		"/api/v2/files/inspect":               "optional",
		"/admin/registry/reload":              "optional",
		"/api/v2/ml/detect":                   "ml",
		"/api/v2/llmx":                        "",
		"/health":                             "",
	} {
		g, ok := GroupForPath(path)
		if (want == "") == ok || g.Name != want {
			t.Errorf("%s: got %q %v, want %q", path, g.Name, ok, want)
		}
	}
}

func TestExclusiveRecordsOnlyExceptions(t *testing.T) {
	for _, g := range Groups() {
		for _, m := range g.Shared {
			if !slices.Contains(g.Modules, m) {
				t.Errorf("%s: shared module %s is not among its modules", g.Name, m)
			}
		}
	}
	opt, _ := LookupGroup("optional")
	if len(opt.Exclusive()) != 0 {
		t.Errorf("optional brings nothing core lacks: %v", opt.Exclusive())
	}
	vec, _ := LookupGroup("vector")
	if !slices.Equal(vec.Exclusive(), vec.Modules) {
		t.Errorf("vector: %v", vec.Exclusive())
	}
}

func TestHeavyKeysDeriveFromGroups(t *testing.T) {
	want := []string{"gonum", "sklearn", "openai", "anthropic", "qdrant", "redis", "yaml", "mimetype", "torch", "langchain", "tensorflow"}
	if got := HeavyKeys(); !slices.Equal(got, want) {
		t.Fatalf("%v", got)
	}
}

func TestSettingPrefixesAreDisjoint(t *testing.T) {
	seen := map[string]string{}
	for _, g := range Groups() {
		if len(g.SettingPrefixes) == 0 {
			t.Errorf("%s declares no setting prefix", g.Name)
		}
		for _, p := range g.SettingPrefixes {
			for q, other := range seen {
				if strings.HasPrefix(p, q) || strings.HasPrefix(q, p) {
					t.Errorf("prefix %s of %s overlaps %s of %s", p, g.Name, q, other)
				}
			}
			seen[p] = g.Name
		}
	}
	if g, ok := GroupForSetting("QDRANT_URL"); !ok || g.Name != "vector" {
		t.Fatal("QDRANT_URL")
	}
	if _, ok := GroupForSetting("ADDR"); ok {
		t.Fatal("ADDR is core")
	}
	if h := HowToLink("llm"); h != "variant hybrid or full, or build tag llm" {
		t.Fatal(h)
	}
}
