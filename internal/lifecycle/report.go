package lifecycle

import (
	"runtime"

	"github.com/advanced-backend/advanced-backend/internal/capreport"

	"github.com/advanced-backend/advanced-backend/internal/capability"
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
	problems := capability.CrossCheck(linked, r.facts)
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
		HeavyDependencies:       capability.HeavyDependencies(linked),
		TDigestFallback:         in.Fallback,
		TDigestTrackedEndpoints: tracked,
		Estimator:               in.Estimator,
		Variant:                 r.variant,
		BuildTags:               tags,
		Version:                 version.Full(linked),
		Commit:                  version.Commit,
		GoVersion:               runtime.Version(),
		Platform:                runtime.GOOS + "/" + runtime.GOARCH,
		Groups:                  r.States(),
		Consistency:             capreport.Consistency{OK: len(problems) == 0, Problems: problems},
	}
}
