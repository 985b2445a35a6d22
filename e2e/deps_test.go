package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// heavyModules must never reach the lean variant.
var heavyModules = []string{
	"google.golang.org/grpc",
	"github.com/sashabaranov/go-openai",
	"github.com/redis/go-redis",
	"gonum.org/v1/gonum",
	"github.com/qdrant/go-client",
	"github.com/anthropics/anthropic-sdk-go",
}

func goListDeps(t *testing.T, goos string, tags []string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", strings.Join(tags, ","),
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./cmd/advanced-backend")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list (%s, %v): %v", goos, tags, err)
	}
	var pkgs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			pkgs = append(pkgs, l)
		}
	}
	return pkgs
}

// TestVariantDependencies proves, per variant and OS, that the binary's
// package graph holds exactly the variant's group packages, and that lean
// holds none of the heavy modules (as Tailscale's depaware tests do).
func TestVariantDependencies(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, v := range groupspec.Variants() {
			t.Run(goos+"/"+v.Name, func(t *testing.T) {
				pkgs := goListDeps(t, goos, variantTags(t, v.Name))
				for _, g := range groupspec.Groups() {
					if slices.Contains(pkgs, g.Package) != slices.Contains(v.Groups, g.Name) {
						t.Errorf("package %s present=%v, want group %s linked=%v", g.Package, !slices.Contains(v.Groups, g.Name), g.Name, slices.Contains(v.Groups, g.Name))
					}
				}
				for _, g := range groupspec.Groups() {
					if slices.Contains(v.Groups, g.Name) {
						continue
					}
					for _, m := range g.Exclusive() {
						for _, p := range pkgs {
							if p == m || strings.HasPrefix(p, m+"/") {
								t.Errorf("%s links %s although group %s is not in it", v.Name, p, g.Name)
								break
							}
						}
					}
				}
				if v.Name == "lean" {
					for _, p := range pkgs {
						for _, m := range heavyModules {
							if strings.HasPrefix(p, m) {
								t.Errorf("lean links %s", p)
							}
						}
					}
				}
			})
		}
	}
}

// TestCheckedInDependencyLists compares deps/<variant>.txt with the live
// graph, so every change shows what it pulls into which variant. Regenerate
// with `make deps`.
func TestCheckedInDependencyLists(t *testing.T) {
	for _, v := range groupspec.Variants() {
		want, err := os.ReadFile(filepath.Join(repoRoot, "deps", v.Name+".txt"))
		if err != nil {
			t.Fatalf("%v (run make deps)", err)
		}
		got := strings.Join(goListDeps(t, "linux", variantTags(t, v.Name)), "\n") + "\n"
		if got != string(want) {
			t.Errorf("deps/%s.txt is stale; run `make deps` and review the diff:\n%s", v.Name, diffLines(string(want), got))
		}
	}
}

func diffLines(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range bs {
		if !slices.Contains(as, l) {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range as {
		if !slices.Contains(bs, l) {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLinkerPrunesUnusedMethods guards the binary size: when a reachable
// function calls reflect.Value.MethodByName with a non-constant name (as
// text/template does, pulled in by golang.org/x/net/trace unless grpc is
// built with grpcnotrace), the linker must keep every exported method of
// every reachable type, which doubled the full variant. The linker marks
// such functions <ReflectMethod> in its -dumpdep output.
func TestLinkerPrunesUnusedMethods(t *testing.T) {
	cmd := exec.Command("go", "build", "-trimpath", "-tags", strings.Join(variantTags(t, "full"), ","),
		"-ldflags", "-dumpdep", "-o", filepath.Join(t.TempDir(), "full"), "./cmd/advanced-backend")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "<ReflectMethod>") {
			t.Fatalf("a reachable function defeats method pruning (find the chain to it in -dumpdep output): %s", line)
		}
	}
}
