// Package capability is the registry of optional dependency groups.
//
// The table in this file is the single source of truth for which groups and
// variants exist: the Makefile (through cmd/variants), the tests, BUILD.md and
// the goreleaser configuration all derive from it. Group packages call
// Register from their init function, the way database/sql drivers do, and the
// registry cross-checks what registered against runtime/debug.ReadBuildInfo.
package capability

import (
	"fmt"
	"slices"
	"strings"
)

// GroupSpec declares one optional dependency group.
type GroupSpec struct {
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
	// Exclusive are the modules only this group brings: a binary that does
	// not link the group must not contain them (core links mimetype and
	// goccy/go-yaml through gin, so they are not exclusive to optional).
	Exclusive []string
	// Heavy are the keys of heavy_dependencies this group provides.
	Heavy []string
}

// VariantSpec declares one named build variant.
type VariantSpec struct {
	Name   string
	Groups []string
	Use    string
}

// Module path prefix of this project; group packages live below it.
const modulePath = "github.com/advanced-backend/advanced-backend"

// Tags every variant is built with besides its groups' tags: gin without
// msgpack (the service speaks none), and grpc without golang.org/x/net/trace,
// whose html/template use keeps the linker from pruning unused methods
// (measured: full 54.4 MB -> 25.2 MB stripped).
var baseTags = []string{"nomsgpack", "grpcnotrace"}

// Extra tags that are legitimate but select no group.
var extraTags = map[string]string{
	"nomsgpack":   "gin without msgpack rendering/binding (the service speaks no msgpack)",
	"notdigest":   "use the pure-stdlib reservoir estimator instead of the t-digest",
	"grpcnotrace": "grpc without golang.org/x/net/trace (keeps the linker's dead-code elimination working)",
}

var groups = []GroupSpec{
	{
		Name:          "ml",
		Description:   "local analytics: latency anomaly detection, baselines",
		Package:       modulePath + "/features/ml",
		RoutePrefixes: []string{"/api/v2/ml"},
		Modules:       []string{"gonum.org/v1/gonum"},
		Exclusive:     []string{"gonum.org/v1/gonum"},
		Heavy:         []string{"gonum"},
	},
	{
		Name:           "llm",
		Description:    "chat, streaming and embeddings against OpenAI-compatible and Anthropic APIs",
		Package:        modulePath + "/features/llm",
		RoutePrefixes:  []string{"/api/v2/llm", "/v1"},
		OpenAIPrefixes: []string{"/v1"},
		Modules:        []string{"github.com/sashabaranov/go-openai", "github.com/anthropics/anthropic-sdk-go/v2"},
		Exclusive:      []string{"github.com/sashabaranov/go-openai", "github.com/anthropics/anthropic-sdk-go/v2"},
		Heavy:          []string{"openai", "anthropic"},
	},
	{
		Name:          "vector",
		Description:   "vector store (Qdrant or embedded in-memory index), Redis cache and shared state",
		Package:       modulePath + "/features/vector",
		RoutePrefixes: []string{"/api/v2/vector"},
		Modules:       []string{"github.com/qdrant/go-client", "google.golang.org/grpc", "github.com/redis/go-redis/v9", "github.com/go-redis/redis_rate/v10"},
		Exclusive:     []string{"github.com/qdrant/go-client", "google.golang.org/grpc", "github.com/redis/go-redis/v9", "github.com/go-redis/redis_rate/v10"},
		Heavy:         []string{"qdrant", "redis"},
	},
	{
		Name:          "optional",
		Description:   "YAML registry files, content-based file type detection",
		Package:       modulePath + "/features/optional",
		RoutePrefixes: []string{"/api/v2/files", "/admin/registry"},
		Modules:       []string{"github.com/goccy/go-yaml", "github.com/gabriel-vasile/mimetype"},
		Heavy:         []string{"yaml", "mimetype"},
	},
}

var variants = []VariantSpec{
	{Name: "lean", Groups: nil, Use: "containers, serverless, API-only; the default of a plain go build"},
	{Name: "hybrid", Groups: []string{"llm"}, Use: "LLM features without local analytics"},
	{Name: "prodapi", Groups: []string{"vector", "optional"}, Use: "production API with vector search, no models"},
	{Name: "full", Groups: []string{"ml", "llm", "vector", "optional"}, Use: "development, everything"},
}

// heavyKeys is the fixed key order of heavy_dependencies; tensorflow is
// reported for compatibility with the Python service and is never linked.
var heavyKeys = []string{"gonum", "openai", "anthropic", "qdrant", "redis", "yaml", "mimetype", "tensorflow"}

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
func Groups() []GroupSpec { return slices.Clone(groups) }

// Variants returns the declared variants in table order.
func Variants() []VariantSpec { return slices.Clone(variants) }

// HeavyKeys returns the keys of heavy_dependencies in report order.
func HeavyKeys() []string { return slices.Clone(heavyKeys) }

// LookupGroup returns the spec of the named group.
func LookupGroup(name string) (GroupSpec, bool) {
	for _, g := range groups {
		if g.Name == name {
			return g, true
		}
	}
	return GroupSpec{}, false
}

// LookupVariant returns the spec of the named variant.
func LookupVariant(name string) (VariantSpec, bool) {
	for _, v := range variants {
		if v.Name == name {
			return v, true
		}
	}
	return VariantSpec{}, false
}

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
