package sizes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Fixed flags of every measured build: the release flags, with a fixed
// version stamp so the cache key does not change with the commit.
const versionPkg = "github.com/advanced-backend/advanced-backend/internal/version"

func ldflags(strip bool) string {
	s := "-X " + versionPkg + ".Version=v0.0.0-sizes -X " + versionPkg + ".Commit=sizes"
	if strip {
		s = "-s -w " + s
	}
	return s
}

// Builder builds the service with given tags into a cache directory.
type Builder struct {
	Root     string // module root (holds go.mod)
	CacheDir string
	Go       string // the go command
	Log      io.Writer
}

// The main packages a sizes run builds: the service, and the floor (a bare
// gin server with the libraries lean's core links) lean is compared with.
const (
	ServicePkg = "./cmd/advanced-backend"
	FloorPkg   = "./internal/ops/sizes/floor"
)

// Build returns the path of the service's binary for tags, building it
// unless the cache holds one for the same tags, flags, Go version and
// inputs (the sources of the packages this tag set links, and the versions
// of the modules it links).
func (b *Builder) Build(ctx context.Context, tags []string, strip bool) (string, bool, error) {
	return b.BuildPkg(ctx, ServicePkg, tags, strip)
}

// BuildPkg is Build for another main package of the module (FloorPkg).
func (b *Builder) BuildPkg(ctx context.Context, pkg string, tags []string, strip bool) (string, bool, error) {
	inputs, err := b.inputHash(ctx, pkg, tags)
	if err != nil {
		return "", false, err
	}
	parts := []string{runtime.Version(), runtime.GOOS, runtime.GOARCH, tagKey(tags), ldflags(strip), inputs}
	if pkg != ServicePkg { // the service's keys stay what they were
		parts = append(parts, pkg)
	}
	key := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	name := "advanced-backend"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(b.CacheDir, hex.EncodeToString(key[:8]), name)
	if _, err := os.Stat(out); err == nil {
		return out, true, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", false, fmt.Errorf("size cache: %w", err)
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, b.Go, "build", "-trimpath", "-tags", strings.Join(tags, ","),
		"-ldflags", ldflags(strip), "-o", tmp, pkg)
	cmd.Dir = b.Root
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b.Log != nil {
		fmt.Fprintf(b.Log, "sizes: building %s, tags %s\n", pkg, strings.Join(tags, ","))
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("go build -tags %s: %w\n%s", strings.Join(tags, ","), err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", false, fmt.Errorf("size cache: %w", err)
	}
	return out, false, nil
}

// inputHash fingerprints what a build with tags links: the files of the
// main module's packages (Go and embedded files) by content and every other
// module by path and version.
func (b *Builder) inputHash(ctx context.Context, pkg string, tags []string) (string, error) {
	cmd := exec.CommandContext(ctx, b.Go, "list", "-deps", "-tags", strings.Join(tags, ","), "-f",
		`{{if not .Standard}}{{.Dir}}|{{join .GoFiles ","}},{{join .EmbedFiles ","}}|{{with .Module}}{{.Path}}@{{.Version}}{{end}}{{end}}`,
		pkg)
	cmd.Dir = b.Root
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -deps -tags %s: %w", strings.Join(tags, ","), err)
	}
	h := sha256.New()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 {
			continue
		}
		dir, files, mod := f[0], f[1], f[2]
		if !strings.HasSuffix(mod, "@") { // a dependency: its version says it all
			fmt.Fprintf(h, "mod %s\n", mod)
			continue
		}
		for _, name := range strings.Split(files, ",") {
			if name == "" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return "", fmt.Errorf("hash build inputs: %w", err)
			}
			rel, _ := filepath.Rel(b.Root, filepath.Join(dir, name))
			fmt.Fprintf(h, "file %s %d\n", filepath.ToSlash(rel), len(data))
			h.Write(data)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(b.Root, f))
		if err != nil {
			return "", fmt.Errorf("hash build inputs: %w", err)
		}
		fmt.Fprintf(h, "file %s %d\n", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
