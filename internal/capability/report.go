package capability

import (
	"runtime"

	"github.com/advanced-backend/advanced-backend/internal/capreport"

	"github.com/advanced-backend/advanced-backend/internal/version"
)

// ReportInput carries what the registry does not know itself.
type ReportInput struct {
	SafeMode          bool
	IncludeTensorflow *bool
	Fallback          bool
	TrackedEndpoints  []string
	Estimator         capreport.Estimator
}

// Report assembles the capability report.
func (r *Runtime) Report(in ReportInput) capreport.Report {
	linked := r.LinkedNames()
	problems := CrossCheck(linked, r.facts)
	if problems == nil {
		problems = []string{}
	}
	tags := r.facts.Tags
	if tags == nil {
		tags = []string{}
	}
	tracked := in.TrackedEndpoints
	if tracked == nil {
		tracked = []string{}
	}
	return capreport.Report{
		MinimalMode:             r.minimal,
		SafeMode:                in.SafeMode,
		IncludeTensorflowFlag:   in.IncludeTensorflow,
		HeavyDependencies:       HeavyDependencies(linked),
		TDigestFallback:         in.Fallback,
		TDigestTrackedEndpoints: tracked,
		Estimator:               in.Estimator,
		Variant:                 r.variant,
		BuildTags:               tags,
		Version:                 FullVersion(linked),
		Commit:                  version.Commit,
		GoVersion:               runtime.Version(),
		Platform:                runtime.GOOS + "/" + runtime.GOARCH,
		Groups:                  r.States(),
		Consistency:             capreport.Consistency{OK: len(problems) == 0, Problems: problems},
	}
}

// FullVersion is the release version with the linked groups as a suffix,
// such as v0.1.0+llm+vector.
func FullVersion(linked []string) string {
	v := version.Version
	for _, g := range linked {
		v += "+" + g
	}
	return v
}
