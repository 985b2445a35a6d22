// Package releasecheck verifies the artifacts of a goreleaser run the way a
// user meets them: every archive is matched against the checksums file and
// unpacked, its binary's build info must name the variant's tags, OS and
// arch, the binary must be the right executable format, every linux binary
// is started (under a user-mode emulator when the host cannot run it) and
// probed with `backendctl probe --expect-variant`, and the SBOM beside each
// archive must list exactly the modules the binary links.
package releasecheck

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// Project is the archive name prefix (goreleaser's project_name).
const Project = "advanced-backend"

// MaxMemberBytes bounds one file unpacked from an archive.
const MaxMemberBytes = 256 << 20

// Options configure Verify.
type Options struct {
	Dir     string   // the goreleaser dist directory (dist/release)
	Version string   // the version in the archive names, without the v
	GOOS    []string // the OSes every variant must have archives for
	GOARCH  []string // the arches every variant must have archives for
	// Backendctl is the backendctl binary that probes each linux binary.
	Backendctl string
	// Emulators maps a GOARCH this host cannot run to a user-mode emulator
	// (qemu-aarch64-static for arm64 on amd64).
	Emulators map[string]string
	// ProbeTimeout bounds each probe's wait for /health (emulation is slow).
	ProbeTimeout time.Duration
	Log          io.Writer
}

// Archive is one archive's identity, parsed from its name.
type Archive struct {
	Name, Variant, OS, Arch string
}

// Base is the archive name without its extension (the wrapped directory,
// and the SBOM's name without .cdx.json).
func (a Archive) Base() string {
	return strings.TrimSuffix(strings.TrimSuffix(a.Name, ".tar.gz"), ".zip")
}

// SBOMName is the name of the archive's CycloneDX document.
func (a Archive) SBOMName() string { return a.Base() + ".cdx.json" }

// Verify checks every artifact in opts.Dir and returns one line per archive
// checked; the error lists every problem found.
func Verify(ctx context.Context, opts Options) ([]string, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.ProbeTimeout == 0 {
		opts.ProbeTimeout = 90 * time.Second
	}
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	sums, sumsName, err := readChecksums(opts.Dir)
	if err != nil {
		return nil, err
	}
	for name, want := range sums {
		got, err := fileSHA256(filepath.Join(opts.Dir, name))
		if err != nil {
			fail("%s: %v", sumsName, err)
		} else if got != want {
			fail("%s: sha256 %s, %s says %s", name, got, sumsName, want)
		}
	}

	archives, err := findArchives(opts.Dir, opts.Version)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, a := range archives {
		found[a.Variant+"/"+a.OS+"/"+a.Arch] = true
	}
	for _, v := range groupspec.VariantNames() {
		for _, goos := range opts.GOOS {
			for _, goarch := range opts.GOARCH {
				if !found[v+"/"+goos+"/"+goarch] {
					fail("no archive for %s %s/%s (version %s)", v, goos, goarch, opts.Version)
				}
			}
		}
	}

	work, err := os.MkdirTemp("", "releasecheck-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(work)

	var checked []string
	for _, a := range archives {
		if err := ctx.Err(); err != nil {
			return checked, err
		}
		for _, name := range []string{a.Name, a.SBOMName()} {
			if _, ok := sums[name]; !ok {
				fail("%s is not in %s", name, sumsName)
			}
		}
		line, errs := verifyArchive(ctx, opts, a, filepath.Join(work, a.Base()))
		for _, e := range errs {
			fail("%s: %v", a.Name, e)
		}
		if len(errs) == 0 {
			checked = append(checked, line)
			fmt.Fprintln(opts.Log, "ok  ", line)
		} else {
			fmt.Fprintln(opts.Log, "FAIL", a.Name)
		}
	}
	if len(problems) > 0 {
		return checked, fmt.Errorf("%d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return checked, nil
}

func verifyArchive(ctx context.Context, opts Options, a Archive, dir string) (string, []error) {
	var errs []error
	files, err := unpack(filepath.Join(opts.Dir, a.Name), dir)
	if err != nil {
		return "", []error{err}
	}
	exe := "advanced-backend"
	if a.OS == "windows" {
		exe += ".exe"
	}
	for _, want := range []string{exe, "README.md", "BUILD.md", "LICENSE"} {
		if !slices.Contains(files, path.Join(a.Base(), want)) {
			errs = append(errs, fmt.Errorf("no %s/%s in the archive (it has %v)", a.Base(), want, files))
		}
	}
	if len(errs) > 0 {
		return "", errs
	}
	bin := filepath.Join(dir, a.Base(), exe)
	format, err := CheckFormat(bin, a.OS, a.Arch)
	if err != nil {
		errs = append(errs, err)
	}
	mods, err := CheckBuildInfo(bin, a.Variant, a.OS, a.Arch, opts.Version)
	if err != nil {
		errs = append(errs, err)
	}
	sbom, err := ReadSBOM(filepath.Join(opts.Dir, a.SBOMName()))
	if err != nil {
		errs = append(errs, err)
	} else if err := CheckSBOM(sbom, a.Variant, mods); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", a.SBOMName(), err))
	} else if sbom.MainVersion() != "v"+opts.Version {
		errs = append(errs, fmt.Errorf("%s: main component version %q, want v%s", a.SBOMName(), sbom.MainVersion(), opts.Version))
	}
	ran := "not run (" + a.OS + ")"
	if a.OS == "linux" && len(errs) == 0 {
		how, err := probe(ctx, opts, bin, a)
		if err != nil {
			errs = append(errs, err)
		}
		ran = "probe ok " + how
	}
	return fmt.Sprintf("%s: %s, %s %s/%s, %d modules (= SBOM), %s", a.Name, format, a.Variant, a.OS, a.Arch, len(mods), ran), errs
}

// probe runs backendctl probe against a linux binary, natively when the
// host is linux on the same arch, else through the emulator for its arch.
func probe(ctx context.Context, opts Options, bin string, a Archive) (string, error) {
	if opts.Backendctl == "" {
		return "", errors.New("no backendctl to probe the linux binary with")
	}
	how := "natively"
	args := []string{"probe", "--exe", bin, "--expect-variant", a.Variant, "--quiet",
		"--timeout", opts.ProbeTimeout.String()}
	if runtime.GOOS != "linux" || runtime.GOARCH != a.Arch {
		emu := opts.Emulators[a.Arch]
		if emu == "" {
			return "", fmt.Errorf("this %s/%s host cannot run a linux/%s binary and no emulator is set for %s", runtime.GOOS, runtime.GOARCH, a.Arch, a.Arch)
		}
		if _, err := exec.LookPath(emu); err != nil {
			return "", fmt.Errorf("emulator for linux/%s: %w (scripts/test-deps.sh installs qemu-user-static)", a.Arch, err)
		}
		args = append(args, "--emulator", emu)
		how = "under " + emu
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	args = append(args, "--port", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, opts.Backendctl, args...).CombinedOutput()
	if err != nil {
		return how, fmt.Errorf("backendctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return how, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// readChecksums reads the one *_checksums.txt in dir: file name -> sha256.
func readChecksums(dir string) (map[string]string, string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*_checksums.txt"))
	if err != nil || len(matches) != 1 {
		return nil, "", fmt.Errorf("want one *_checksums.txt in %s, found %v (%v)", dir, matches, err)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		return nil, "", fmt.Errorf("read checksums: %w", err)
	}
	sums := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 {
			return nil, "", fmt.Errorf("%s line %d: %q is not \"<sha256>  <file>\"", filepath.Base(matches[0]), i+1, line)
		}
		sums[f[1]] = f[0]
	}
	return sums, filepath.Base(matches[0]), nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// findArchives lists the archives in dir whose names follow
// <project>_<version>_<variant>_<os>_<arch>.(tar.gz|zip); an archive of
// another version or an unknown variant is an error.
func findArchives(dir, version string) ([]Archive, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(Project) + `_(.+)_([a-z0-9]+)_(linux|darwin|windows)_([a-z0-9]+)\.(tar\.gz|zip)$`)
	var out []Archive
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip")) {
			continue
		}
		m := re.FindStringSubmatch(n)
		if m == nil {
			return nil, fmt.Errorf("archive %s does not follow %s_<version>_<variant>_<os>_<arch>", n, Project)
		}
		if m[1] != version {
			return nil, fmt.Errorf("archive %s has version %s, expected %s", n, m[1], version)
		}
		if _, ok := groupspec.LookupVariant(m[2]); !ok {
			return nil, fmt.Errorf("archive %s: variant %q is not in the registry", n, m[2])
		}
		wantExt := "tar.gz"
		if m[3] == "windows" {
			wantExt = "zip"
		}
		if m[5] != wantExt {
			return nil, fmt.Errorf("archive %s: %s archives are .%s", n, m[3], wantExt)
		}
		out = append(out, Archive{Name: n, Variant: m[2], OS: m[3], Arch: m[4]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no archives in %s", dir)
	}
	return out, nil
}

// unpack extracts a .tar.gz or .zip into dir and returns the regular files'
// names; a member that would land outside dir is refused.
func unpack(archive, dir string) ([]string, error) {
	var names []string
	write := func(name string, mode os.FileMode, r io.Reader) error {
		clean := path.Clean(name)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("%s: member %q escapes the archive", filepath.Base(archive), name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, io.LimitReader(r, MaxMemberBytes+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n > MaxMemberBytes {
			err = fmt.Errorf("%s: member %s is larger than %d bytes", filepath.Base(archive), name, MaxMemberBytes)
		}
		names = append(names, clean)
		return err
	}
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", archive, err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			err = write(f.Name, f.Mode().Perm(), rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
		return names, nil
	}
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := write(h.Name, os.FileMode(h.Mode).Perm(), tr); err != nil {
			return nil, err
		}
	}
}

// CheckFormat checks that bin is an executable of goos/goarch (ELF, PE or
// Mach-O with the right machine; a linux ELF must be static) and names it.
func CheckFormat(bin, goos, goarch string) (string, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	r := bytes.NewReader(b)
	switch goos {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			return "", fmt.Errorf("not an ELF file: %w", err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != want || f.Type != elf.ET_EXEC {
			return "", fmt.Errorf("ELF %s %s, want %s executable", f.Type, f.Machine, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return "", errors.New("ELF asks for a dynamic loader (PT_INTERP): not static")
			}
		}
		return "static ELF " + f.Machine.String(), nil
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			return "", fmt.Errorf("not a PE file: %w", err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[goarch]
		if f.Machine != want || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			return "", fmt.Errorf("PE machine %#x characteristics %#x, want an executable for %#x", f.Machine, f.Characteristics, want)
		}
		return fmt.Sprintf("PE executable (machine %#x)", f.Machine), nil
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			return "", fmt.Errorf("not a Mach-O file: %w", err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			return "", fmt.Errorf("Mach-O %v %v, want %v executable", f.Type, f.Cpu, want)
		}
		return "Mach-O executable " + f.Cpu.String(), nil
	}
	return "", fmt.Errorf("unknown OS %q", goos)
}

// CheckBuildInfo checks the build info of bin: the variant's tags, the OS
// and arch, a static trimmed build stamped with version (without the v),
// each linked group's modules present and each absent group's own modules
// absent. It returns the modules the binary links.
func CheckBuildInfo(bin, variant, goos, goarch, version string) ([]string, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("build info: %w", err)
	}
	v, ok := groupspec.LookupVariant(variant)
	if !ok {
		return nil, fmt.Errorf("variant %q is not in the registry", variant)
	}
	tags, _ := groupspec.VariantTags(variant)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var errs []string
	want := map[string]string{"-tags": strings.Join(tags, ","), "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true"}
	for _, k := range []string{"-tags", "GOOS", "GOARCH", "CGO_ENABLED", "-trimpath"} {
		if settings[k] != want[k] {
			errs = append(errs, fmt.Sprintf("build setting %s=%q, want %q", k, settings[k], want[k]))
		}
	}
	// -trimpath keeps -ldflags out of the build info: look for the stamped
	// version string itself (the binary appends "+group" suffixes to it).
	if b, err := os.ReadFile(bin); err != nil || !bytes.Contains(b, []byte("v"+version)) {
		errs = append(errs, fmt.Sprintf("the binary does not contain its version stamp v%s (%v)", version, err))
	}
	var mods []string
	have := map[string]bool{}
	for _, d := range bi.Deps {
		mods = append(mods, d.Path)
		have[d.Path] = true
	}
	errs = append(errs, groupModuleProblems(v, have, "the binary")...)
	if len(errs) > 0 {
		return mods, errors.New(strings.Join(errs, "; "))
	}
	return mods, nil
}

// groupModuleProblems lists the group modules that are missing from (or
// wrongly in) a set of modules for variant v.
func groupModuleProblems(v groupspec.Variant, have map[string]bool, what string) []string {
	var out []string
	for _, g := range groupspec.Groups() {
		linked := slices.Contains(v.Groups, g.Name)
		for _, m := range g.Modules {
			if linked && !have[m] {
				out = append(out, fmt.Sprintf("%s lacks %s of group %s", what, m, g.Name))
			}
		}
		for _, m := range g.Exclusive() {
			if !linked && have[m] {
				out = append(out, fmt.Sprintf("%s has %s, which only group %s brings, but %s does not link it", what, m, g.Name, v.Name))
			}
		}
	}
	return out
}
