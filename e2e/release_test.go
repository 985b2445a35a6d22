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
	"github.com/advanced-backend/advanced-backend/internal/ops/sizes"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testtool"
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

// TestMakeVariantsFromAPlainShell: `make -n variants` from a plain shell
// (GOTOOLCHAIN unset) hands go.mod's toolchain to every go build of a
// variant. (Which variants it builds is variants.mk, generated from the
// groups' descriptions; cmd/variants' test keeps it current.)
func TestMakeVariantsFromAPlainShell(t *testing.T) {
	cmd := exec.Command(testtool.Need(t, "make", testtool.GetMake), "-n", "variants")
	cmd.Dir = repoRoot
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOTOOLCHAIN=") })
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n variants: %v", err)
	}
	builds := regexp.MustCompile(`-o dist/(\w+)/advanced-backend`).FindAllString(string(out), -1)
	if len(builds) == 0 {
		t.Fatalf("make -n variants builds nothing:\n%s", out)
	}
	if n := strings.Count(string(out), "GOTOOLCHAIN=go1."); n < len(builds) {
		t.Errorf("make -n variants: %d of %d go builds are given the toolchain:\n%s", n, len(builds), out)
	}
}

// TestReleaseVersionPassedToGoreleaser proves the Makefile hands its
// version (without the v) and commit to goreleaser, so a snapshot of a tree
// without a tag or a remote is not versioned 0.0.1.
func TestReleaseVersionPassedToGoreleaser(t *testing.T) {
	for _, target := range []string{"release-snapshot", "release-check"} {
		cmd := exec.Command(testtool.Need(t, "make", testtool.GetMake), "-n", target, "VERSION=v1.2.3-rc1", "COMMIT=abc1234")
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
	// actionlint runs shellcheck when it finds it on PATH
	testtool.Want(t, "shellcheck", testtool.GetShellcheck)
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

// TestDockerfile checks what the image test (image_test.go) does not run:
// one stage FROM scratch (nothing to pull), the release binary copied in,
// and the runtime facts the image test reads back from the built image.
func TestDockerfile(t *testing.T) {
	df := readFile(t, "Dockerfile")
	if n := strings.Count(df, "\nFROM "); n != 1 || !strings.Contains(df, "\nFROM scratch\n") {
		t.Errorf("Dockerfile has %d stages; want one, FROM scratch", n)
	}
	for _, want := range []string{"COPY advanced-backend /usr/local/bin/advanced-backend", "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
		"USER " + imageUser, "ENV ADDR=0.0.0.0:8000", "EXPOSE 8000", `CMD ["` + imageBinary + `", "healthcheck"]`,
		"org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source",
		"io.advanced-backend.variant", "io.advanced-backend.groups"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestGoreleaserSBOMs checks the sboms section: one per variant, over that
// variant's binaries, named after the archive (+ .cdx.json), made by the
// cyclonedx-gomod pinned in tools/go.mod (goreleaser runs it in the dist
// directory, so the -modfile path is relative to it).
func TestGoreleaserSBOMs(t *testing.T) {
	cfg := readSBOMConfig(t)
	var ids []string
	for _, s := range cfg.SBOMs {
		ids = append(ids, s.ID)
		if s.Artifacts != "binary" || !slices.Equal(s.IDs, []string{s.ID}) {
			t.Errorf("sbom %s: artifacts %q ids %v, want binary [%s]", s.ID, s.Artifacts, s.IDs, s.ID)
		}
		want := "{{ .ProjectName }}_{{ .Version }}_" + s.ID + "_{{ .Os }}_{{ .Arch }}.cdx.json"
		if !slices.Equal(s.Documents, []string{want}) {
			t.Errorf("sbom %s: documents %v, want [%s]", s.ID, s.Documents, want)
		}
		if !slices.Equal(s.Args, cfg.SBOMs[0].Args) || s.Cmd != "go" {
			t.Errorf("sbom %s: cmd %s %v differs from the first", s.ID, s.Cmd, s.Args)
		}
	}
	if !slices.Equal(ids, groupspec.VariantNames()) {
		t.Errorf("sbom ids %v, registry variants %v", ids, groupspec.VariantNames())
	}
	for _, a := range cfg.Archives {
		if !strings.HasPrefix(a.NameTemplate, "{{ .ProjectName }}_{{ .Version }}_"+a.ID+"_{{ .Os }}_{{ .Arch }}") {
			t.Errorf("archive %s: name %q; the SBOM names assume {{ .ProjectName }}_{{ .Version }}_%s_{{ .Os }}_{{ .Arch }}", a.ID, a.NameTemplate, a.ID)
		}
	}
	sbomArgs(t, cfg, "doc", "bin") // checks the -modfile path
}

type sbomConfig struct {
	Dist     string `yaml:"dist"`
	Archives []struct {
		ID           string `yaml:"id"`
		NameTemplate string `yaml:"name_template"`
	} `yaml:"archives"`
	SBOMs []struct {
		ID        string   `yaml:"id"`
		Artifacts string   `yaml:"artifacts"`
		IDs       []string `yaml:"ids"`
		Documents []string `yaml:"documents"`
		Cmd       string   `yaml:"cmd"`
		Args      []string `yaml:"args"`
	} `yaml:"sboms"`
}

func readSBOMConfig(t *testing.T) sbomConfig {
	t.Helper()
	var cfg sbomConfig
	if err := yaml.Unmarshal([]byte(readFile(t, ".goreleaser.yaml")), &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if len(cfg.SBOMs) == 0 {
		t.Fatal(".goreleaser.yaml has no sboms")
	}
	return cfg
}

// sbomArgs returns the go command's arguments of the goreleaser SBOM step
// for one binary, with the -modfile made absolute (goreleaser runs it in
// the dist directory); it fails unless that path is tools/go.mod.
func sbomArgs(t *testing.T, cfg sbomConfig, document, artifact string) []string {
	t.Helper()
	var out []string
	modfile := false
	for _, a := range cfg.SBOMs[0].Args {
		switch {
		case a == "$document":
			a = document
		case a == "$artifact":
			a = artifact
		case strings.Contains(a, "{{ .Version }}"):
			a = strings.ReplaceAll(a, "{{ .Version }}", "0.0.0-e2e")
		case strings.HasPrefix(a, "-modfile="):
			abs, err := filepath.Abs(filepath.Join(repoRoot, cfg.Dist, strings.TrimPrefix(a, "-modfile=")))
			want, _ := filepath.Abs(filepath.Join(repoRoot, "tools", "go.mod"))
			if err != nil || abs != want {
				t.Fatalf("sbom arg %s resolves from %s to %s, not tools/go.mod", a, cfg.Dist, abs)
			}
			a, modfile = "-modfile="+abs, true
		}
		out = append(out, a)
	}
	if !modfile || !slices.Contains(out, "cyclonedx-gomod") {
		t.Fatalf("sbom args %v do not run the cyclonedx-gomod of tools/go.mod", cfg.SBOMs[0].Args)
	}
	return out
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
	for _, c := range sizes.Configs() {
		if !strings.Contains(table, "| "+c.Name+" ") {
			t.Errorf("BUILD.md sizes table has no row for %s; regenerate with backendctl sizes --markdown", c.Name)
		}
	}
	// the figures name the commit they were measured at, one git knows
	m := regexp.MustCompile("Measured at commit `([0-9a-f]{7,40})(-dirty)?`").FindStringSubmatch(table)
	if m == nil {
		t.Fatal("BUILD.md's sizes do not name the commit they were measured at (backendctl sizes prints it)")
	}
	git := testtool.Need(t, "git", testtool.GetGit)
	cmd := exec.Command(git, "cat-file", "-e", m[1]+"^{commit}")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("BUILD.md's sizes were measured at commit %s, which this repository does not have: %v %s", m[1], err, out)
	}
}

// TestMakefileWorksFromAPlainShell: with GOTOOLCHAIN unset (as in a new
// user's shell, where go.env may say local and the machine's go is older
// than go.mod's), every target of the Makefile expands (make -n), and every
// go command it would run carries go.mod's toolchain itself: GNU make 4.3
// does not pass exported variables to $(shell ...).
func TestMakefileWorksFromAPlainShell(t *testing.T) {
	mk := readFile(t, "Makefile")
	goMod := readFile(t, "go.mod")
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	want := "GOTOOLCHAIN=go" + m[1] + " go "
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOTOOLCHAIN=") })
	makeBin := testtool.Need(t, "make", testtool.GetMake)
	targets := regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(mk, -1)
	if len(targets) < 15 {
		t.Fatalf("found only %d targets", len(targets))
	}
	for _, tg := range targets {
		cmd := exec.Command(makeBin, "-n", tg[1])
		cmd.Dir = repoRoot
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("make -n %s: %v\n%s", tg[1], err, out)
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			if regexp.MustCompile(`(^|[\s;&|(])go (build|run|test|vet|list|tool|env) `).MatchString(line) && !strings.Contains(line, want) {
				t.Errorf("make %s runs go without %q: %s", tg[1], strings.TrimSpace(want), line)
			}
		}
	}
}
