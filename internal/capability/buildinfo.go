package capability

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// BuildFacts is what runtime/debug.ReadBuildInfo says about the binary.
type BuildFacts struct {
	GoVersion string
	Tags      []string
	Modules   map[string]string // path -> version
}

// ReadBuildFacts reads the running binary's build info.
func ReadBuildFacts() BuildFacts {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return BuildFacts{Modules: map[string]string{}}
	}
	return FactsFrom(bi)
}

// FactsFrom extracts the facts the registry checks from build info.
func FactsFrom(bi *debug.BuildInfo) BuildFacts {
	f := BuildFacts{GoVersion: bi.GoVersion, Modules: map[string]string{}}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		f.Modules[d.Path] = d.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && s.Value != "" {
			f.Tags = strings.Split(s.Value, ",")
		}
	}
	return f
}

// ModulesOf lists the group's modules present in the build, with versions.
func (f BuildFacts) ModulesOf(g groupspec.Group) []capreport.Module {
	var out []capreport.Module
	for _, p := range g.Modules {
		if v, ok := f.Modules[p]; ok {
			out = append(out, capreport.Module{Path: p, Version: v})
		}
	}
	return out
}

// CrossCheck compares what registered with what the build info holds and
// returns one message per disagreement. A linked group must have all of its
// modules; an unlinked group's exclusive modules must be absent.
func CrossCheck(linked []string, f BuildFacts) []string {
	var problems []string
	for _, g := range groupspec.Groups() {
		isLinked := slices.Contains(linked, g.Name)
		for _, m := range g.Modules {
			_, present := f.Modules[m]
			if isLinked && !present {
				problems = append(problems, fmt.Sprintf("group %s registered but module %s is not in the build info", g.Name, m))
			}
		}
		if !isLinked {
			for _, m := range g.Exclusive() {
				if _, present := f.Modules[m]; present {
					problems = append(problems, fmt.Sprintf("module %s is linked but its group %s did not register", m, g.Name))
				}
			}
		}
		if f.Tags != nil {
			tagged := slices.Contains(f.Tags, g.Name)
			if tagged != isLinked {
				problems = append(problems, fmt.Sprintf("build tag %s given=%t but group %s linked=%t", g.Name, tagged, g.Name, isLinked))
			}
		}
	}
	return problems
}

// HeavyDependencies maps each heavy dependency key to whether the group
// providing it is linked.
func HeavyDependencies(linked []string) map[string]bool {
	keys := groupspec.HeavyKeys()
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = false
	}
	for _, g := range groupspec.Groups() {
		if slices.Contains(linked, g.Name) {
			for _, k := range g.Heavy {
				m[k] = true
			}
		}
	}
	return m
}
