package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// VulnDBModule and VulnDBVersion pin the copy of the Go vulnerability
// database the scan reads offline: the module's data/osv folder is a flat
// list of OSV files that `govulncheck -db file://...` accepts.
const (
	VulnDBModule  = "golang.org/x/vulndb"
	VulnDBVersion = "v0.0.0-20261105234957-e22db6528018"
)

// VulnDBDir downloads (or finds in the module cache) the pinned vulndb
// module through the Go module proxy and returns its data/osv folder.
func VulnDBDir(ctx context.Context, goCmd, version string) (string, error) {
	tmp, err := os.MkdirTemp("", "vulndb-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", VulnDBModule+"@"+version)
	cmd.Dir = tmp // outside any module: download only, no go.mod change
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", VulnDBModule, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", VulnDBModule, version, err)
	}
	dir := filepath.Join(info.Dir, "data", "osv")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("vulndb %s has no data/osv: %w", version, err)
	}
	return dir, nil
}

// BuildGovulncheck builds the govulncheck pinned in tools/go.mod into dir.
func BuildGovulncheck(ctx context.Context, goCmd, root, dir string) (string, error) {
	exe := filepath.Join(dir, "govulncheck")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-modfile=tools/go.mod", "-o", exe, "golang.org/x/vuln/cmd/govulncheck")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build govulncheck from tools/go.mod: %w\n%s", err, out)
	}
	return exe, nil
}

// Finding is one vulnerability govulncheck found for a variant.
type Finding struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases,omitempty"`
	Summary  string   `json:"summary"`
	Module   string   `json:"module"`
	Version  string   `json:"version"`
	Fixed    string   `json:"fixed_version,omitempty"`
	Level    string   `json:"level"` // called (reachable symbol), imported (package), required (module only)
	Symbols  []string `json:"symbols,omitempty"`
	Packages []string `json:"packages,omitempty"`
}

// Reachable reports whether the code calls a vulnerable symbol.
func (f Finding) Reachable() bool { return f.Level == "called" }

// Vulns runs govulncheck with the variant's tags against db (a file:// or
// https:// URL) and folds its JSON stream into one finding per
// vulnerability at its most specific level.
func Vulns(ctx context.Context, govulncheck, root, db string, tags []string) ([]Finding, error) {
	cmd := exec.CommandContext(ctx, govulncheck, "-db", db, "-tags", strings.Join(tags, ","), "-format", "json", "./cmd/advanced-backend")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("govulncheck -tags %s: %w\n%s", strings.Join(tags, ","), err, stderr.String())
	}
	return ParseGovulncheck(bytes.NewReader(out))
}

// ParseGovulncheck reads govulncheck's -format json stream.
func ParseGovulncheck(r io.Reader) ([]Finding, error) {
	type frame struct {
		Module   string `json:"module"`
		Version  string `json:"version"`
		Package  string `json:"package"`
		Function string `json:"function"`
		Receiver string `json:"receiver"`
	}
	type message struct {
		OSV *struct {
			ID      string   `json:"id"`
			Aliases []string `json:"aliases"`
			Summary string   `json:"summary"`
		} `json:"osv"`
		Finding *struct {
			OSV          string  `json:"osv"`
			FixedVersion string  `json:"fixed_version"`
			Trace        []frame `json:"trace"`
		} `json:"finding"`
	}
	osvs := map[string]struct {
		aliases []string
		summary string
	}{}
	byID := map[string]*Finding{}
	rank := map[string]int{"required": 0, "imported": 1, "called": 2}
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decode govulncheck output: %w", err)
		}
		if m.OSV != nil {
			osvs[m.OSV.ID] = struct {
				aliases []string
				summary string
			}{m.OSV.Aliases, m.OSV.Summary}
		}
		if m.Finding == nil || len(m.Finding.Trace) == 0 {
			continue
		}
		fr := m.Finding.Trace[0]
		level := "required"
		switch {
		case fr.Function != "":
			level = "called"
		case fr.Package != "":
			level = "imported"
		}
		f := byID[m.Finding.OSV]
		if f == nil {
			f = &Finding{ID: m.Finding.OSV, Module: fr.Module, Version: fr.Version, Fixed: m.Finding.FixedVersion, Level: level}
			byID[f.ID] = f
		}
		if rank[level] > rank[f.Level] {
			f.Level = level
		}
		if fr.Function != "" {
			sym := fr.Package + "." + fr.Function
			if fr.Receiver != "" {
				sym = fr.Package + "." + fr.Receiver + "." + fr.Function
			}
			f.Symbols = appendNew(f.Symbols, sym)
		}
		if fr.Package != "" {
			f.Packages = appendNew(f.Packages, fr.Package)
		}
	}
	out := make([]Finding, 0, len(byID))
	for id, f := range byID {
		f.Aliases, f.Summary = osvs[id].aliases, osvs[id].summary
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
