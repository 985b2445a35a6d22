// Package groupspec is the table of optional dependency groups and build
// variants. It imports nothing but the standard library and declares no
// group itself: each group describes itself once, in its own stdlib-only
// description (features/groupdesc/<group>.go), which calls Declare from
// init. The variants are named here; which groups each holds comes from
// the descriptions. The Makefile and goreleaser (through cmd/variants), the
// registry, the settings documents, backendctl's smoke cases and the tests
// all derive from what is declared, so adding a group touches no core file.
package groupspec

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Group declares one optional dependency group.
type Group struct {
	// Name is the group's name and also its Go build tag.
	Name        string
	Description string
	// Rank orders the table: reports, version suffixes and docs list the
	// groups by ascending Rank (then name).
	Rank int
	// Variants are the declared variants (below) that contain the group.
	Variants []string
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
	// Smoke are requests a linked, enabled group answers without upstream
	// services and without changing state (backendctl smoke). When JWT auth
	// is on they need a user token.
	Smoke []SmokeCase
}

// SmokeCase is one request of a group's smoke run and what its answer must
// look like.
type SmokeCase struct {
	Name   string
	Method string
	Path   string
	Status int
	// Body and ContentType, when set, are sent with the request.
	Body        string
	ContentType string
	// JSON requires a JSON body; ErrorCode requires {"error":{"code":...}}.
	JSON      bool
	ErrorCode string
	// Contains is a substring the body must hold.
	Contains string
	// Keys are top-level keys the JSON body must hold.
	Keys []string
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

// Variant declares one named build variant. Groups is filled from the
// groups' descriptions (Group.Variants), in table order.
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

var (
	mu     sync.RWMutex
	groups []Group // declared, in table order
)

// Declare adds a group to the table. Each group's description calls it from
// init; like database/sql.Register it panics on misuse (a name declared
// twice, a variant that does not exist, a route or setting prefix another
// group holds), because that is a programming error found at process start.
func Declare(g Group) {
	mu.Lock()
	defer mu.Unlock()
	if err := check(g, groups); err != nil {
		panic("groupspec: Declare " + g.Name + ": " + err.Error())
	}
	g.Variants = slices.Clone(g.Variants)
	// keep table order (rank, then name) by inserting in place: a handful of
	// groups, and neither a sort nor slices.Insert instantiated for the
	// struct in every binary
	i := 0
	for i < len(groups) && (groups[i].Rank < g.Rank || groups[i].Rank == g.Rank && groups[i].Name < g.Name) {
		i++
	}
	groups = append(groups, Group{})
	copy(groups[i+1:], groups[i:])
	groups[i] = g
}

func check(g Group, others []Group) error {
	if g.Name == "" || strings.ContainsAny(g.Name, " ,") || g.Name != strings.ToLower(g.Name) {
		return fmt.Errorf("the name must be a lower-case build tag")
	}
	if _, extra := extraTags[g.Name]; extra {
		return fmt.Errorf("%s is a build tag of core", g.Name)
	}
	if len(g.SettingPrefixes) == 0 {
		return fmt.Errorf("no setting prefix")
	}
	for _, v := range g.Variants {
		if !slices.ContainsFunc(variants, func(x Variant) bool { return x.Name == v }) {
			return fmt.Errorf("unknown variant %q", v)
		}
	}
	for _, o := range others {
		if o.Name == g.Name {
			return fmt.Errorf("declared twice")
		}
		for _, p := range g.SettingPrefixes {
			for _, q := range o.SettingPrefixes {
				if strings.HasPrefix(p, q) || strings.HasPrefix(q, p) {
					return fmt.Errorf("setting prefix %s overlaps %s of group %s", p, q, o.Name)
				}
			}
		}
		for _, p := range g.RoutePrefixes {
			if slices.Contains(o.RoutePrefixes, p) {
				return fmt.Errorf("route prefix %s is group %s's", p, o.Name)
			}
		}
	}
	return nil
}

// variants are the named builds; which groups each holds, the groups say.
var variants = []Variant{
	{Name: "lean", Use: "containers, serverless, API-only; the default of a plain go build"},
	{Name: "hybrid", Use: "LLM features without local analytics"},
	{Name: "prodapi", Use: "production API with vector search, no models"},
	{Name: "full", Use: "development, everything"},
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
	for _, g := range Groups() {
		out = append(out, g.OpenAIPrefixes...)
	}
	return out
}

// Groups returns the declared groups in table order.
func Groups() []Group {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Clone(groups)
}

// Variants returns the declared variants in table order, each with the
// groups that declare it.
func Variants() []Variant {
	gs := Groups()
	out := slices.Clone(variants)
	for i := range out {
		for _, g := range gs {
			if slices.Contains(g.Variants, out[i].Name) {
				out[i].Groups = append(out[i].Groups, g.Name)
			}
		}
	}
	return out
}

// HeavyKeys returns the keys of heavy_dependencies in report order: each
// group's keys in table order, then the compatibility keys.
func HeavyKeys() []string {
	var keys []string
	for _, g := range Groups() {
		keys = append(keys, g.Heavy...)
	}
	return append(keys, compatHeavyKeys...)
}

// LookupGroup returns the spec of the named group.
func LookupGroup(name string) (Group, bool) {
	gs := Groups()
	i := slices.IndexFunc(gs, func(g Group) bool { return g.Name == name })
	if i < 0 {
		return Group{}, false
	}
	return gs[i], true
}

// LookupVariant returns the spec of the named variant.
func LookupVariant(name string) (Variant, bool) {
	vs := Variants()
	i := slices.IndexFunc(vs, func(v Variant) bool { return v.Name == name })
	if i < 0 {
		return Variant{}, false
	}
	return vs[i], true
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
	gs := Groups()
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Name
	}
	return names
}

// KnownTags maps every build tag the project uses to what it does.
func KnownTags() map[string]string {
	gs := Groups()
	m := make(map[string]string, len(gs)+len(extraTags))
	for _, g := range gs {
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
	for _, v := range Variants() {
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
	for _, v := range Variants() {
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
	for _, g := range Groups() {
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
	for _, g := range Groups() {
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
