// Package groupspec is the table of optional dependency groups and build
// variants: the single source of truth for which exist. The Makefile and
// goreleaser (through cmd/variants), the registry, the tests and BUILD.md
// all derive from it. It imports nothing but the standard library, so any
// package can read the table without linking the registry's runtime.
package groupspec

import (
	"fmt"
	"slices"
	"strings"
)

// Group declares one optional dependency group.
type Group struct {
	// Name is the group's name and also its Go build tag.
	Name        string
	Description string
	// Package is the import path of the group package, linked by features/link_<name>.go.
	Package string
	// RoutePrefixes are the URL prefixes the group serves. A request under one of
	// them answers 501 when the group is not linked and 503 when it is disabled.
	RoutePrefixes []string
	// OpenAIPrefixes are those of RoutePrefixes that speak OpenAI's wire
	// format: every error under them, core's included (401, 429, 404, 501,
	// 503), takes OpenAI's error shape.
	OpenAIPrefixes []string
	// Modules are the Go modules the group needs; each must be in the build
	// info of a binary that links the group.
	Modules []string
	// Shared are the exceptions among Modules that core links anyway (gin
	// brings mimetype and goccy/go-yaml); every other module is exclusive to
	// the group and must be absent from a binary that does not link it.
	Shared []string
	// Heavy are the keys of heavy_dependencies this group provides.
	Heavy []string
	// SettingPrefixes are the prefixes of every setting the group declares
	// (QDRANT_ for QDRANT_URL). A binary without the group recognises its
	// settings by them, and a test checks them against the declarations.
	SettingPrefixes []string
}

// Exclusive lists the modules only this group brings: Modules minus Shared.
func (g Group) Exclusive() []string {
	var out []string
	for _, m := range g.Modules {
		if !slices.Contains(g.Shared, m) {
			out = append(out, m)
		}
	}
	return out
}

// OwnsSetting reports whether a setting name carries one of the group's prefixes.
func (g Group) OwnsSetting(name string) bool {
	for _, p := range g.SettingPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Variant declares one named build variant.
type Variant struct {
	Name   string
	Groups []string
	Use    string
}

// ModulePath is this project's module; group packages live below it.
const ModulePath = "github.com/advanced-backend/advanced-backend"

// Tags every variant is built with besides its groups' tags: gin without
// msgpack (the service speaks none), and grpc without golang.org/x/net/trace,
// whose html/template use keeps the linker from pruning unused methods
// (what it costs: BUILD.md, Sizes).
var baseTags = []string{"nomsgpack", "grpcnotrace"}

// Extra tags that are legitimate but select no group.
var extraTags = map[string]string{
	"nomsgpack":   "gin without msgpack rendering/binding (the service speaks no msgpack)",
	"notdigest":   "use the pure-stdlib reservoir estimator instead of the t-digest",
	"grpcnotrace": "grpc without golang.org/x/net/trace (keeps the linker's dead-code elimination working)",
}

var groups = []Group{
	{
		Name:            "ml",
		Description:     "local analytics: latency anomaly detection, baselines",
		Package:         ModulePath + "/features/ml",
		RoutePrefixes:   []string{"/api/v2/ml"},
		Modules:         []string{"gonum.org/v1/gonum"},
		Heavy:           []string{"gonum", "sklearn"}, // sklearn: gonum/stat does the statistics the seed used scikit-learn for
		SettingPrefixes: []string{"ML_"},
	},
	// llm declares no module: it speaks to both providers over net/http
	// (features/llm/upstream; DESIGN.md, "One upstream path per provider").
	{
		Name:            "llm",
		Description:     "chat, streaming and embeddings against OpenAI-compatible and Anthropic APIs",
		Package:         ModulePath + "/features/llm",
		RoutePrefixes:   []string{"/api/v2/llm", "/v1"},
		OpenAIPrefixes:  []string{"/v1"},
		Heavy:           []string{"openai", "anthropic"},
		SettingPrefixes: []string{"OPENAI_", "ANTHROPIC_", "LLM_"},
	},
	{
		Name:            "vector",
		Description:     "vector store (Qdrant or a durable embedded index), Redis cache and shared state",
		Package:         ModulePath + "/features/vector",
		RoutePrefixes:   []string{"/api/v2/vector"},
		Modules:         []string{"github.com/qdrant/go-client", "google.golang.org/grpc", "github.com/redis/go-redis/v9", "github.com/go-redis/redis_rate/v10"},
		Heavy:           []string{"qdrant", "redis"},
		SettingPrefixes: []string{"QDRANT_", "REDIS_", "VECTOR_"},
	},
	{
		Name:            "optional",
		Description:     "YAML registry files, content-based file type detection",
		Package:         ModulePath + "/features/optional",
		RoutePrefixes:   []string{"/api/v2/files", "/admin/registry"},
		Modules:         []string{"github.com/goccy/go-yaml", "github.com/gabriel-vasile/mimetype"},
		Shared:          []string{"github.com/goccy/go-yaml", "github.com/gabriel-vasile/mimetype"},
		Heavy:           []string{"yaml", "mimetype"},
		SettingPrefixes: []string{"REGISTRY_", "FILES_"},
	},
	// new groups: one row above this line
}

var variants = []Variant{
	{Name: "lean", Groups: nil, Use: "containers, serverless, API-only; the default of a plain go build"},
	{Name: "hybrid", Groups: []string{"llm"}, Use: "LLM features without local analytics"},
	{Name: "prodapi", Groups: []string{"vector", "optional"}, Use: "production API with vector search, no models"},
	{Name: "full", Groups: []string{"ml", "llm", "vector", "optional"}, Use: "development, everything"},
}

// compatHeavyKeys are heavy_dependencies keys the Python service reported
// that no Go group provides; they stay in the report, always false: no
// tensor or neural-network runtime (torch, tensorflow) and no orchestration
// framework (langchain; the llm group calls the provider APIs directly) is
// linked into any Go build. The seed's other keys are provided by groups:
// openai and anthropic (llm), sklearn (ml).
var compatHeavyKeys = []string{"torch", "langchain", "tensorflow"}

// OpenAIPrefixes lists every group's OpenAI-format route prefixes, linked
// or not (an unlinked group's 501 takes the shape its clients expect).
func OpenAIPrefixes() []string {
	var out []string
	for _, g := range groups {
		out = append(out, g.OpenAIPrefixes...)
	}
	return out
}

// Groups returns the declared groups in table order.
func Groups() []Group { return slices.Clone(groups) }

// Variants returns the declared variants in table order.
func Variants() []Variant { return slices.Clone(variants) }

// HeavyKeys returns the keys of heavy_dependencies in report order: each
// group's keys in table order, then the compatibility keys.
func HeavyKeys() []string {
	var keys []string
	for _, g := range groups {
		keys = append(keys, g.Heavy...)
	}
	return append(keys, compatHeavyKeys...)
}

// LookupGroup returns the spec of the named group.
func LookupGroup(name string) (Group, bool) {
	i := slices.IndexFunc(groups, func(g Group) bool { return g.Name == name })
	if i < 0 {
		return Group{}, false
	}
	return groups[i], true
}

// LookupVariant returns the spec of the named variant.
func LookupVariant(name string) (Variant, bool) {
	i := slices.IndexFunc(variants, func(v Variant) bool { return v.Name == name })
	if i < 0 {
		return Variant{}, false
	}
	return variants[i], true
}

// BaseTags are the tags every variant is built with besides its groups.
func BaseTags() []string { return slices.Clone(baseTags) }

// VariantTags returns the build tags of a variant: the base tags, then its groups.
func VariantTags(name string) ([]string, error) {
	v, ok := LookupVariant(name)
	if !ok {
		return nil, fmt.Errorf("unknown variant %q (known: %s)", name, strings.Join(VariantNames(), ", "))
	}
	return append(slices.Clone(baseTags), v.Groups...), nil
}

// VariantNames lists the variant names in table order.
func VariantNames() []string {
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.Name
	}
	return names
}

// GroupNames lists the group names in table order.
func GroupNames() []string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	return names
}

// KnownTags maps every build tag the project uses to what it does.
func KnownTags() map[string]string {
	m := make(map[string]string, len(groups)+len(extraTags))
	for _, g := range groups {
		m[g.Name] = "links the " + g.Name + " group: " + g.Description
	}
	for t, d := range extraTags {
		m[t] = d
	}
	return m
}

// VariantFor names the variant whose groups are exactly the given set, or
// "custom" when no declared variant matches.
func VariantFor(linked []string) string {
	for _, v := range variants {
		if sameSet(v.Groups, linked) {
			return v.Name
		}
	}
	return "custom"
}

// VariantsWith names the declared variants that link the group, for
// messages that say how to get it ("variants hybrid, full or -tags llm").
func VariantsWith(group string) []string {
	var out []string
	for _, v := range variants {
		if slices.Contains(v.Groups, group) {
			out = append(out, v.Name)
		}
	}
	return out
}

// HowToLink says in words which variants or tag bring the group.
func HowToLink(group string) string {
	vs := VariantsWith(group)
	if len(vs) == 0 {
		return "build tag " + group
	}
	return "variant " + strings.Join(vs, " or ") + ", or build tag " + group
}

// GroupForPath returns the group whose route prefix holds path.
func GroupForPath(path string) (Group, bool) {
	for _, g := range groups {
		for _, p := range g.RoutePrefixes {
			if path == p || (strings.HasPrefix(path, p) && path[len(p)] == '/') {
				return g, true
			}
		}
	}
	return Group{}, false
}

// GroupForSetting returns the group whose setting prefixes hold name.
func GroupForSetting(name string) (Group, bool) {
	for _, g := range groups {
		if g.OwnsSetting(name) {
			return g, true
		}
	}
	return Group{}, false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
