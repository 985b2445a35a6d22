package capability

import (
	"context"
	"go/build/constraint"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

type fakeFeature struct{ status groupapi.Status }

func (f *fakeFeature) Setup(*groupapi.Host) error  { return nil }
func (f *fakeFeature) Start(context.Context) error { return nil }
func (f *fakeFeature) Stop(context.Context) error  { return nil }
func (f *fakeFeature) Status() groupapi.Status     { return f.status }

func withCleanRegistry(t *testing.T) {
	t.Helper()
	regMu.Lock()
	saved := registered
	registered = map[string]GroupInfo{}
	regMu.Unlock()
	t.Cleanup(func() { regMu.Lock(); registered = saved; regMu.Unlock() })
}

func fake(name string) GroupInfo {
	return GroupInfo{Name: name, New: func(config.Values) groupapi.Feature { return &fakeFeature{} }}
}

func TestRegisterRefusesDuplicatesUnknownAndNil(t *testing.T) {
	withCleanRegistry(t)
	if err := register(fake("ml")); err != nil {
		t.Fatal(err)
	}
	if err := register(fake("ml")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: %v", err)
	}
	if err := register(fake("tensorflow")); err == nil || !strings.Contains(err.Error(), "unknown group") {
		t.Fatalf("unknown: %v", err)
	}
	if err := register(GroupInfo{Name: "llm"}); err == nil {
		t.Fatal("no constructor accepted")
	}
	bad := fake("vector")
	bad.Settings = []config.Setting{config.String("OPENAI_API_KEY", "", "not vector's")}
	if err := register(bad); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Fatalf("a setting outside the group's prefixes: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Register did not panic on a duplicate")
		}
	}()
	Register(fake("ml"))
}

func TestLinkedNamesInTableOrder(t *testing.T) {
	withCleanRegistry(t)
	for _, g := range []string{"optional", "ml", "vector"} {
		Register(fake(g))
	}
	if got := LinkedNames(); !slices.Equal(got, []string{"ml", "vector", "optional"}) {
		t.Fatalf("%v", got)
	}
}

// TestSettingsOptions: linked groups hand over their declarations, the
// others their prefixes from the table and what would bring them.
func TestSettingsOptions(t *testing.T) {
	decl := []config.Setting{config.Int("ML_MAX_SERIES", 10, 4, 100, "x")}
	linked, unlinked, variant := SettingsOptions(map[string]GroupInfo{"ml": {Name: "ml", New: fake("ml").New, Settings: decl}})
	if variant != "custom" || len(linked) != 1 || linked[0].Group != "ml" || len(linked[0].Settings) != 1 {
		t.Fatalf("linked %+v variant %s", linked, variant)
	}
	if len(unlinked) != len(groupspec.Groups())-1 || unlinked[0].Name != "llm" ||
		!slices.Contains(unlinked[0].Prefixes, "OPENAI_") || !strings.Contains(unlinked[0].HowToLink, "hybrid") {
		t.Fatalf("unlinked %+v", unlinked)
	}
}

func TestHeavyDependencies(t *testing.T) {
	h := HeavyDependencies([]string{"llm", "optional"})
	want := map[string]bool{"gonum": false, "openai": true, "anthropic": true, "qdrant": false, "redis": false, "yaml": true, "mimetype": true,
		"sklearn": false, "torch": false, "langchain": false, "tensorflow": false}
	if len(h) != len(want) {
		t.Fatalf("%v", h)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %v, want %v", k, h[k], v)
		}
	}
	if ml := HeavyDependencies([]string{"ml"}); !ml["sklearn"] || !ml["gonum"] || ml["torch"] {
		t.Errorf("ml: %v", ml)
	}
	noCounterpart := map[string]bool{"torch": true, "langchain": true, "tensorflow": true}
	for k, v := range HeavyDependencies(groupspec.GroupNames()) {
		if v != !noCounterpart[k] {
			t.Errorf("full: %s = %v", k, v)
		}
	}
}

func facts(tags string, mods ...string) BuildFacts {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8"}
	for _, m := range mods {
		bi.Deps = append(bi.Deps, &debug.Module{Path: m, Version: "v1.0.0"})
	}
	bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "-tags", Value: tags})
	return FactsFrom(bi)
}

func TestCrossCheck(t *testing.T) {
	core := []string{"github.com/gin-gonic/gin", "github.com/goccy/go-yaml", "github.com/gabriel-vasile/mimetype"}
	// Lean: core modules only, nothing registered: consistent, even though
	// gin brings optional's modules.
	if p := CrossCheck(nil, facts("nomsgpack", core...)); len(p) != 0 {
		t.Fatalf("lean: %v", p)
	}
	// Registered group whose module is missing.
	if p := CrossCheck([]string{"ml"}, facts("nomsgpack,ml", core...)); len(p) != 1 || !strings.Contains(p[0], "gonum") {
		t.Fatalf("missing module: %v", p)
	}
	// Exclusive module present without its group.
	p := CrossCheck(nil, facts("nomsgpack", append(core, "google.golang.org/grpc")...))
	if len(p) != 1 || !strings.Contains(p[0], "grpc") || !strings.Contains(p[0], "vector") {
		t.Fatalf("stray module: %v", p)
	}
	// Tag given but group not registered.
	if p := CrossCheck(nil, facts("nomsgpack,optional", core...)); len(p) != 1 || !strings.Contains(p[0], "optional") {
		t.Fatalf("tag without group: %v", p)
	}
	// A consistent full build.
	var all []string
	for _, g := range groupspec.Groups() {
		all = append(all, g.Modules...)
	}
	if p := CrossCheck(groupspec.GroupNames(), facts("nomsgpack,ml,llm,vector,optional", append(core, all...)...)); len(p) != 0 {
		t.Fatalf("full: %v", p)
	}
}

// TestEveryBuildTagIsDeclared greps the tree for build constraints and fails
// on any tag the table does not declare, so a stray or misspelt tag cannot
// silently build a different binary.
func TestEveryBuildTagIsDeclared(t *testing.T) {
	known := groupspec.KnownTags()
	ignore := map[string]bool{"ignore": true, "race": true, "cgo": true, "unix": true, "gc": true, "gccgo": true}
	for _, os := range strings.Fields("linux darwin windows freebsd netbsd openbsd plan9 solaris illumos aix android ios js wasip1 dragonfly hurd zos") {
		ignore[os] = true
	}
	for _, arch := range strings.Fields("amd64 arm64 386 arm wasm riscv64 ppc64 ppc64le s390x mips mipsle mips64 mips64le loong64") {
		ignore[arch] = true
	}
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "dist" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if !constraint.IsGoBuild(line) {
				continue
			}
			expr, err := constraint.Parse(line)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			expr.Eval(func(tag string) bool {
				seen[tag] = true
				if !ignore[tag] && !strings.HasPrefix(tag, "go1.") {
					if _, ok := known[tag]; !ok {
						t.Errorf("%s: build tag %q is not declared in internal/capability", path, tag)
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groupspec.GroupNames() {
		if !seen[g] {
			t.Errorf("group %s has no link file carrying its tag", g)
		}
	}
}
