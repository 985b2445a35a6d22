package releasecheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// SBOM is the part of a CycloneDX JSON document the checks read.
type SBOM struct {
	BOMFormat  string      `json:"bomFormat"`
	Components []Component `json:"components"`
	Metadata   struct {
		Component Component `json:"component"`
	} `json:"metadata"`
}

// Component is one CycloneDX component.
type Component struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
}

// ReadSBOM reads a CycloneDX JSON document.
func ReadSBOM(name string) (SBOM, error) {
	var s SBOM
	b, err := os.ReadFile(name)
	if err != nil {
		return s, fmt.Errorf("SBOM: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("SBOM %s: %w", name, err)
	}
	if s.BOMFormat != "CycloneDX" {
		return s, fmt.Errorf("SBOM %s: bomFormat %q, want CycloneDX", name, s.BOMFormat)
	}
	return s, nil
}

// Modules returns the Go module paths the SBOM's components name (from
// their pkg:golang package URLs), sorted, without the main module.
func (s SBOM) Modules() []string {
	var out []string
	for _, c := range s.Components {
		if m := purlModule(c.PURL); m != "" && m != purlModule(s.Metadata.Component.PURL) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// purlModule is the module path of a pkg:golang package URL ("" for others).
func purlModule(purl string) string {
	rest, ok := strings.CutPrefix(purl, "pkg:golang/")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "@")
	if p, err := url.PathUnescape(rest); err == nil {
		return p
	}
	return rest
}

// MainVersion is the version the SBOM gives the main module (the binary).
func (s SBOM) MainVersion() string { return s.Metadata.Component.Version }

// CheckSBOM checks that the SBOM of a binary of variant lists exactly the
// modules the binary links (linked, from its build info; nil skips that
// comparison), every module of the variant's groups, and no module that
// only an absent group brings.
func CheckSBOM(s SBOM, variant string, linked []string) error {
	v, ok := groupspec.LookupVariant(variant)
	if !ok {
		return fmt.Errorf("variant %q is not in the registry", variant)
	}
	got := s.Modules()
	have := map[string]bool{}
	for _, m := range got {
		have[m] = true
	}
	problems := groupModuleProblems(v, have, "the SBOM")
	if linked != nil {
		want := slices.Clone(linked)
		slices.Sort(want)
		want = slices.Compact(want)
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("the SBOM names %d modules, the binary links %d: only in the SBOM %v, only in the binary %v",
				len(got), len(want), minus(got, want), minus(want, got)))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
