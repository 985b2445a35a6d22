package opssizes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
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
	srcHash  string
}

// Build returns the path of the binary for tags, building it unless the
// cache holds one for the same tags, flags, Go version and source state.
func (b *Builder) Build(ctx context.Context, tags []string, strip bool) (string, bool, error) {
	if b.srcHash == "" {
		h, err := SourceHash(b.Root)
		if err != nil {
			return "", false, err
		}
		b.srcHash = h
	}
	key := sha256.Sum256([]byte(strings.Join([]string{runtime.Version(), runtime.GOOS, runtime.GOARCH,
		tagKey(tags), ldflags(strip), b.srcHash}, "\n")))
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
		"-ldflags", ldflags(strip), "-o", tmp, "./cmd/advanced-backend")
	cmd.Dir = b.Root
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b.Log != nil {
		fmt.Fprintf(b.Log, "sizes: building tags %s\n", strings.Join(tags, ","))
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("go build -tags %s: %w\n%s", strings.Join(tags, ","), err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", false, fmt.Errorf("size cache: %w", err)
	}
	return out, false, nil
}

// SourceHash fingerprints the Go sources (not tests) and module files under
// root (skipping dist, build-reports, tools and hidden directories).
func SourceHash(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			base := d.Name()
			if rel != "." && (strings.HasPrefix(base, ".") || base == "dist" || base == "build-reports" || base == "tools" || base == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		isGo := strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go")
		if !isGo && d.Name() != "go.mod" && d.Name() != "go.sum" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash sources under %s: %w", root, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
