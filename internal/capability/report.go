package capability

import (
	"runtime"

	"github.com/advanced-backend/advanced-backend/internal/version"
)

// Report is the body of /ml-capabilities and of `advanced-backend
// capabilities`. The first fields keep the names of the Python service's
// report so existing probes keep working.
type Report struct {
	MinimalMode             bool                  `json:"minimal_mode"`
	SafeMode                bool                  `json:"safe_mode"`
	IncludeTensorflowFlag   *bool                 `json:"include_tensorflow_flag"` // null when INCLUDE_TENSORFLOW is unset
	HeavyDependencies       map[string]bool       `json:"heavy_dependencies"`
	TDigestFallback         bool                  `json:"tdigest_fallback"`
	TDigestTrackedEndpoints []string              `json:"tdigest_tracked_endpoints"` // route keys holding samples
	Estimator               any                   `json:"estimator"`
	Variant                 string                `json:"variant"`
	BuildTags               []string              `json:"build_tags"`
	Version                 string                `json:"version"`
	Commit                  string                `json:"commit"`
	GoVersion               string                `json:"go_version"`
	Platform                string                `json:"platform"`
	Groups                  map[string]GroupState `json:"groups"`
	Consistency             Consistency           `json:"consistency"`
}

// Consistency is the outcome of the registry/build-info cross-check.
type Consistency struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}

// ReportInput carries what the registry does not know itself.
type ReportInput struct {
	SafeMode          bool
	IncludeTensorflow *bool
	Fallback          bool
	TrackedEndpoints  []string
	Estimator         any
}

// Report assembles the capability report.
func (r *Runtime) Report(in ReportInput) Report {
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
	return Report{
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
		Consistency:             Consistency{OK: len(problems) == 0, Problems: problems},
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
