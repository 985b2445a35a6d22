package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/opssizes"
)

// goreleaserConfig is the part of .goreleaser.yaml the agreement test reads.
type goreleaserConfig struct {
	Version int      `yaml:"version"`
	Dist    string   `yaml:"dist"`
	Env     []string `yaml:"env"`
	Builds  []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Tags    []string `yaml:"tags"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID              string   `yaml:"id"`
		IDs             []string `yaml:"ids"`
		NameTemplate    string   `yaml:"name_template"`
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
	Snapshot struct {
		VersionTemplate string `yaml:"version_template"`
	} `yaml:"snapshot"`
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGoreleaserMatchesRegistry keeps .goreleaser.yaml's builds and
// archives identical to the variant table in internal/capability: one build
// id per variant, in table order, with exactly the variant's tags, for
// linux/darwin/windows on amd64/arm64, static, trimmed, stripped and
// version-stamped.
func TestGoreleaserMatchesRegistry(t *testing.T) {
	var cfg goreleaserConfig
	if err := yaml.Unmarshal([]byte(readFile(t, ".goreleaser.yaml")), &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if cfg.Version != 2 {
		t.Errorf("version %d, want 2", cfg.Version)
	}
	if !slices.Contains(cfg.Env, "CGO_ENABLED=0") {
		t.Errorf("env %v lacks CGO_ENABLED=0", cfg.Env)
	}
	if cfg.Dist == "" || cfg.Dist == "dist" {
		t.Errorf("dist %q: goreleaser --clean would remove the Makefile's dist/<variant>", cfg.Dist)
	}
	var ids []string
	for _, b := range cfg.Builds {
		ids = append(ids, b.ID)
		want, err := groupspec.VariantTags(b.ID)
		if err != nil {
			t.Errorf("build %q: %v", b.ID, err)
			continue
		}
		if !slices.Equal(b.Tags, want) {
			t.Errorf("build %s: tags %v, the registry says %v", b.ID, b.Tags, want)
		}
		if b.Main != "./cmd/advanced-backend" || b.Binary != "advanced-backend" {
			t.Errorf("build %s: main %q binary %q", b.ID, b.Main, b.Binary)
		}
		if !slices.Equal(b.Goos, []string{"linux", "darwin", "windows"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
			t.Errorf("build %s: goos %v goarch %v", b.ID, b.Goos, b.Goarch)
		}
		if !slices.Contains(b.Flags, "-trimpath") {
			t.Errorf("build %s: flags %v lack -trimpath", b.ID, b.Flags)
		}
		ld := strings.Join(b.Ldflags, " ")
		for _, want := range []string{"-s -w", "internal/version.Version=v{{ .Version }}", "internal/version.Commit="} {
			if !strings.Contains(ld, want) {
				t.Errorf("build %s: ldflags %q lack %q", b.ID, ld, want)
			}
		}
	}
	if !slices.Equal(ids, groupspec.VariantNames()) {
		t.Errorf("build ids %v, registry variants %v", ids, groupspec.VariantNames())
	}
	var archived []string
	for _, a := range cfg.Archives {
		if len(a.IDs) != 1 || a.IDs[0] != a.ID {
			t.Errorf("archive %s packs builds %v, want [%s]", a.ID, a.IDs, a.ID)
		}
		archived = append(archived, a.ID)
		for _, part := range []string{a.ID, "{{ .Os }}", "{{ .Arch }}", "{{ .Version }}"} {
			if !strings.Contains(a.NameTemplate, part) {
				t.Errorf("archive %s: name %q lacks %q", a.ID, a.NameTemplate, part)
			}
		}
		zip := false
		for _, o := range a.FormatOverrides {
			zip = zip || (o.Goos == "windows" && slices.Equal(o.Formats, []string{"zip"}))
		}
		if !zip || !slices.Equal(a.Formats, []string{"tar.gz"}) {
			t.Errorf("archive %s: formats %v, overrides %+v; want tar.gz and zip on windows", a.ID, a.Formats, a.FormatOverrides)
		}
		for _, f := range []string{"README.md", "BUILD.md", "LICENSE"} {
			if !slices.Contains(a.Files, f) {
				t.Errorf("archive %s does not include %s", a.ID, f)
			}
			if _, err := os.Stat(filepath.Join(repoRoot, f)); err != nil {
				t.Errorf("archive file %s: %v", f, err)
			}
		}
	}
	if !slices.Equal(archived, groupspec.VariantNames()) {
		t.Errorf("archives %v, registry variants %v", archived, groupspec.VariantNames())
	}
	if cfg.Checksum.NameTemplate == "" {
		t.Error("no checksum file")
	}
	if !strings.Contains(cfg.Snapshot.VersionTemplate, "RELEASE_VERSION") {
		t.Errorf("snapshot version_template %q ignores RELEASE_VERSION: an untagged snapshot would be 0.0.1", cfg.Snapshot.VersionTemplate)
	}
}

// TestMakefileVariantsMatchRegistry: the Makefile asks cmd/variants for
// the variant list; `make -n variants` builds exactly the table's
// variants, in table order.
func TestMakefileVariantsMatchRegistry(t *testing.T) {
	m := regexp.MustCompile(`(?m)^VARIANTS\s*:=\s*(.+)$`).FindStringSubmatch(readFile(t, "Makefile"))
	if m == nil || !strings.Contains(m[1], "./cmd/variants list") {
		t.Fatalf("Makefile VARIANTS is not asked of cmd/variants: %q", m)
	}
	cmd := exec.Command("make", "-n", "variants")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n variants: %v", err)
	}
	got := regexp.MustCompile(`-o dist/(\w+)/advanced-backend`).FindAllStringSubmatch(string(out), -1)
	var names []string
	for _, g := range got {
		names = append(names, g[1])
	}
	if !slices.Equal(names, groupspec.VariantNames()) {
		t.Errorf("make variants builds %v, registry %v", names, groupspec.VariantNames())
	}
}

// TestReleaseVersionPassedToGoreleaser proves the Makefile hands its
// version (without the v) and commit to goreleaser, so a snapshot of a tree
// without a tag or a remote is not versioned 0.0.1.
func TestReleaseVersionPassedToGoreleaser(t *testing.T) {
	for _, target := range []string{"release-snapshot", "release-check"} {
		cmd := exec.Command("make", "-n", target, "VERSION=v1.2.3-rc1", "COMMIT=abc1234")
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		s := string(out)
		if !strings.Contains(s, "RELEASE_VERSION=1.2.3-rc1 ") || !strings.Contains(s, "RELEASE_COMMIT=abc1234 ") {
			t.Errorf("make -n %s does not pass the version and commit:\n%s", target, s)
		}
		if !strings.Contains(s, "go tool -modfile=tools/go.mod goreleaser") {
			t.Errorf("make -n %s does not run the pinned goreleaser:\n%s", target, s)
		}
	}
}

// TestWorkflowsLint runs actionlint (pinned in tools/go.mod) over
// .github/workflows; it also runs shellcheck on the run: scripts when
// shellcheck is installed (scripts/test-deps.sh installs it).
func TestWorkflowsLint(t *testing.T) {
	cmd := exec.Command("go", "tool", "-modfile=tools/go.mod", "actionlint")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// TestWorkflowsTakeVariantsFromRegistry checks that the matrix workflows do
// not restate the variant list.
func TestWorkflowsTakeVariantsFromRegistry(t *testing.T) {
	for _, wf := range []string{"capabilities.yml", "license_cve_scan.yml"} {
		s := readFile(t, filepath.Join(".github", "workflows", wf))
		if !strings.Contains(s, "go run ./cmd/variants list") || !strings.Contains(s, "fromJSON(needs.variants.outputs.list)") {
			t.Errorf("%s does not take its variant matrix from cmd/variants", wf)
		}
	}
	caps := readFile(t, filepath.Join(".github", "workflows", "capabilities.yml"))
	for _, want := range []string{"backendctl probe", "--expect-variant", "capabilities-${{ matrix.variant }}-${{ matrix.os }}.json", "backendctl sizes", "ubuntu-latest, windows-latest, macos-latest"} {
		if !strings.Contains(caps, want) {
			t.Errorf("capabilities.yml lacks %q", want)
		}
	}
}

// TestDockerfile checks what can be checked without a Docker engine: the
// default VARIANT is declared in the registry, the tags come from
// cmd/variants (which refuses an unknown variant), the build is static,
// the Go version matches go.mod, and the runtime stage is static and
// non-root.
func TestDockerfile(t *testing.T) {
	df := readFile(t, "Dockerfile")
	m := regexp.MustCompile(`(?m)^ARG VARIANT=(\S+)$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("Dockerfile has no ARG VARIANT=<default>")
	}
	if _, ok := groupspec.LookupVariant(m[1]); !ok {
		t.Errorf("Dockerfile default VARIANT %q is not in the registry %v", m[1], groupspec.VariantNames())
	}
	gv := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)$`).FindStringSubmatch(df)
	gm := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, "go.mod"))
	if gv == nil || gm == nil || gv[1] != gm[1] {
		t.Errorf("Dockerfile GO_VERSION %v, go.mod go %v", gv, gm)
	}
	for _, want := range []string{`go run ./cmd/variants tags "${VARIANT}"`, "CGO_ENABLED=0", "-trimpath", "-s -w",
		"FROM gcr.io/distroless/static", "USER nonroot", "AS build", "COPY --from=build"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if n := strings.Count(df, "\nFROM "); n != 2 {
		t.Errorf("Dockerfile has %d stages, want 2 (build, runtime)", n)
	}
	// The guard the build stage relies on: cmd/variants fails on an
	// unknown variant, which fails the RUN step.
	cmd := exec.Command("go", "run", "./cmd/variants", "tags", "no-such-variant")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("cmd/variants accepted an unknown variant: %s", out)
	}
}

// TestBuildDocSizesListsEveryBuild keeps BUILD.md's sizes table complete:
// every build backendctl sizes measures has a row.
func TestBuildDocSizesListsEveryBuild(t *testing.T) {
	doc := readFile(t, "BUILD.md")
	i, j := strings.Index(doc, "<!-- sizes:begin -->"), strings.Index(doc, "<!-- sizes:end -->")
	if i < 0 || j < i {
		t.Fatal("BUILD.md lacks the sizes:begin/end markers")
	}
	table := doc[i:j]
	for _, c := range opssizes.Configs() {
		if !strings.Contains(table, "| "+c.Name+" ") {
			t.Errorf("BUILD.md sizes table has no row for %s; regenerate with backendctl sizes --markdown", c.Name)
		}
	}
}
