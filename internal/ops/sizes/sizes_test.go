package sizes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

func TestConfigs(t *testing.T) {
	cs := Configs()
	byName := map[string]Config{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	want := groupspec.VariantNames()
	for _, g := range groupspec.GroupNames() {
		want = append(want, "lean+"+g, "full-"+g)
	}
	for _, n := range want {
		if _, ok := byName[n]; !ok {
			t.Errorf("no config %s", n)
		}
	}
	if len(cs) != len(want) {
		t.Errorf("%d configs", len(cs))
	}
	// lean+llm has hybrid's tags: measured once.
	if byName["lean+llm"].SameAs != "hybrid" {
		t.Errorf("lean+llm SameAs %q", byName["lean+llm"].SameAs)
	}
	if got := strings.Join(byName["full-vector"].Tags, ","); got != "nomsgpack,grpcnotrace,ml,llm,optional" {
		t.Errorf("full-vector tags %s", got)
	}
	if got := strings.Join(byName["lean+ml"].Tags, ","); got != "nomsgpack,grpcnotrace,ml" {
		t.Errorf("lean+ml tags %s", got)
	}
}

func TestBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "budget.json")
	os.WriteFile(path, []byte(`{"lean": 1000, "full": 5000, "fulll": 1}`), 0o644)
	b, err := LoadBudget(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := []Row{{Config: Config{Name: "lean"}, Bytes: 1001}, {Config: Config{Name: "full"}, Bytes: 5000}}
	got := strings.Join(b.Check(rows), "\n")
	if !strings.Contains(got, "lean is 1001 bytes, over its budget of 1000 by 1") || strings.Contains(got, "full is") ||
		!strings.Contains(got, `"fulll"`) {
		t.Errorf("budget check:\n%s", got)
	}
	os.WriteFile(path, []byte(`{"lean": "big"}`), 0o644)
	if _, err := LoadBudget(path); err == nil {
		t.Error("a malformed budget was accepted")
	}
}

func TestSumByPackage(t *testing.T) {
	nm := []byte(` 401000     300 T github.com/a/b.(*T).M
 402000     200 T github.com/a/b.f
 403000     100 t runtime.main
 404000      50 R go:func.*
 405000      40 D type:*github.com/a/b.T
 900000  999999 D crypto/internal/fips140/drbg.memory
 906000     999 B runtime.bss
 907000      10 U external
`)
	got := SumByPackage(nm, 10, []span{{0x900000, 0x905000}})
	want := []Symbol{{"github.com/a/b", 500}, {"runtime", 100}, {"(runtime tables: go:func)", 50}, {"(type descriptors)", 40}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] %+v, want %+v", i, got[i], want[i])
		}
	}
	if top := SumByPackage(nm, 1, nil); len(top) != 1 || top[0].Package != "crypto/internal/fips140/drbg" {
		t.Errorf("without spans the data symbol counts: %+v", top)
	}
}

func TestPackageOf(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/gin-gonic/gin.(*Engine).ServeHTTP": "github.com/gin-gonic/gin",
		"net/http.(*conn).serve":                       "net/http",
		"main.main":                                    "main",
		"gonum.org/v1/gonum/mat.(*Dense).Mul":          "gonum.org/v1/gonum/mat",
	} {
		if got := PackageOf(sym); got != want {
			t.Errorf("PackageOf(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]time.Duration{5, 1, 3}); m != 3 {
		t.Errorf("odd: %v", m)
	}
	if m := median([]int64{4, 1, 3, 2}); m != 2 {
		t.Errorf("even: %v", m)
	}
}

// TestInputHash builds the cache key of a small real module with go list:
// it follows the linked sources of a tag set and nothing else.
func TestInputHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.26\n")
	write("go.sum", "")
	write("cmd/advanced-backend/main.go", "package main\n\nimport _ \"example.com/m/lib\"\n\nfunc main() {}\n")
	write("lib/lib.go", "package lib\n")
	write("lib/extra.go", "//go:build extra\n\npackage lib\n")
	write("other/other.go", "package other\n")
	b := &Builder{Root: dir, Go: "go"}
	ctx := context.Background()
	hash := func(tags ...string) string {
		t.Helper()
		h, err := b.inputHash(ctx, ServicePkg, tags)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base, extra := hash(), hash("extra")
	if base == extra {
		t.Error("a tag that adds a file kept the hash")
	}
	write("other/other.go", "package other // not linked\n")
	write("lib/extra.go", "//go:build extra\n\npackage lib // changed\n")
	if hash() != base {
		t.Error("files the untagged build does not link changed its hash")
	}
	if hash("extra") == extra {
		t.Error("a linked file changed and the hash did not")
	}
}

func TestRatios(t *testing.T) {
	rows := []Row{
		{Config: Config{Name: "lean"}, Bytes: 1100, StartupMS: 12, IdleRSSKiB: 1210},
		{Config: Config{Name: "lean+llm", SameAs: "lean"}, Bytes: 1100},
		{Config: Config{Name: "before", Kind: "exe"}, Bytes: 1200, StartupMS: 10, IdleRSSKiB: -1},
		{Config: Config{Name: "floor", Kind: "floor"}, Bytes: 1000, StartupMS: 10, IdleRSSKiB: 1000},
	}
	got := ratios(rows)
	want := []Ratio{{Name: "lean", Size: 1.1, Startup: 1.2, IdleRSS: 1.21}, {Name: "before", Size: 1.2, Startup: 1}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || !near(g.Size, w.Size) || !near(g.Startup, w.Startup) || !near(g.IdleRSS, w.IdleRSS) {
			t.Errorf("[%d] %+v, want %+v", i, g, w)
		}
	}
	if ratios(rows[:3]) != nil {
		t.Error("ratios without a floor row")
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestFloorServes builds the floor and starts it the way a sizes run does:
// it answers /health with its pid on the address it is given.
func TestFloorServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	b := &Builder{Root: filepath.Join("..", "..", ".."), CacheDir: t.TempDir(), Go: "go"}
	tags, _ := groupspec.VariantTags("lean")
	exe, _, err := b.BuildPkg(context.Background(), FloorPkg, tags, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := MeasureStart(context.Background(), exe, 0, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Startup <= 0 {
		t.Errorf("start %v", s.Startup)
	}
}
