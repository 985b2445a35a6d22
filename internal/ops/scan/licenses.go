// Package scan inventories the licenses of the modules a variant links
// (read from the module cache's license files) and runs govulncheck for a
// variant's build tags against a pinned, offline copy of the Go
// vulnerability database.
package scan

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/licensecheck"
)

// Module is one linked module and its license.
type Module struct {
	Path    string   `json:"module"`
	Version string   `json:"version"`
	License string   `json:"license"` // SPDX id, or "unknown"
	Files   []string `json:"license_files"`
}

// Licenses lists the modules the service links with the given tags and
// classifies the license files in each module's directory.
func Licenses(ctx context.Context, goCmd, root string, tags []string) ([]Module, error) {
	cmd := exec.CommandContext(ctx, goCmd, "list", "-deps", "-tags", strings.Join(tags, ","),
		"-f", "{{with .Module}}{{.Path}}\t{{.Version}}\t{{.Dir}}\t{{.Main}}{{end}}", "./cmd/advanced-backend")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps -tags %s: %w\n%s", strings.Join(tags, ","), err, stderr.String())
	}
	seen := map[string]bool{}
	var mods []Module
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 || seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		m := Module{Path: f[0], Version: f[1]}
		if f[3] == "true" {
			m.Version = "(this module)"
		}
		m.License, m.Files, err = classifyDir(f[2])
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", f[0], err)
		}
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	return mods, nil
}

var licenseFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|unlicense)([.-].*)?$`)

// classifyDir finds the license files at the root of a module directory and
// names the license of the first one that is recognised.
func classifyDir(dir string) (string, []string, error) {
	if dir == "" {
		return "unknown", nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", dir, err)
	}
	license := "unknown"
	var files []string
	for _, e := range entries {
		if e.IsDir() || !licenseFile.MatchString(e.Name()) {
			continue
		}
		files = append(files, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", nil, fmt.Errorf("read %s: %w", e.Name(), err)
		}
		if id := Classify(string(data)); id != "unknown" && license == "unknown" {
			license = id
		}
	}
	return license, files, nil
}

// Classify names the license of a license text (an SPDX id, or
// "unknown") with github.com/google/licensecheck: the first license found
// in the text, which by convention covers the main body of the work.
func Classify(text string) string {
	cov := licensecheck.Scan([]byte(text))
	for _, m := range cov.Match {
		if !m.IsURL {
			return m.ID
		}
	}
	return "unknown"
}
