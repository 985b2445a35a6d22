// Package capreport is the schema of /ml-capabilities and of
// `advanced-backend capabilities`: the service encodes this type, and
// backendctl (probe, smoke) and the tests decode into it, so the schema is
// declared once. It imports nothing but the standard library and the
// group table.
package capreport

import "github.com/advanced-backend/advanced-backend/internal/groupspec"

// Report is the capability report. The first fields keep the names of the
// Python service's report so existing probes keep working.
type Report struct {
	MinimalMode             bool                  `json:"minimal_mode"`
	SafeMode                bool                  `json:"safe_mode"`
	IncludeTensorflowFlag   *bool                 `json:"include_tensorflow_flag"` // null when INCLUDE_TENSORFLOW is unset
	HeavyDependencies       map[string]bool       `json:"heavy_dependencies"`
	TDigestFallback         bool                  `json:"tdigest_fallback"`
	TDigestTrackedEndpoints []string              `json:"tdigest_tracked_endpoints"` // route keys holding samples, sorted
	Estimator               Estimator             `json:"estimator"`
	Variant                 string                `json:"variant"`
	BuildTags               []string              `json:"build_tags"`
	Version                 string                `json:"version"`
	Commit                  string                `json:"commit"`
	GoVersion               string                `json:"go_version"`
	Platform                string                `json:"platform"`
	Groups                  map[string]GroupState `json:"groups"`
	Consistency             Consistency           `json:"consistency"`
}

// Estimator says which latency estimator runs and why.
type Estimator struct {
	Name     string `json:"name"`     // "tdigest" or "reservoir"
	Fallback bool   `json:"fallback"` // true when the reservoir replaces the t-digest
	Reason   string `json:"reason"`
}

// GroupState is one group's entry.
type GroupState struct {
	Name          string   `json:"name"`
	Tag           string   `json:"build_tag"`
	Description   string   `json:"description"`
	RoutePrefixes []string `json:"route_prefixes"`
	Linked        bool     `json:"linked"`
	Enabled       bool     `json:"enabled"`
	Ready         bool     `json:"ready"`
	// Degraded: not ready, but serving with a graceful fallback
	// (groupapi.Status); absent when false.
	Degraded bool   `json:"degraded,omitempty"`
	Detail   string `json:"detail"`
	// Info is the group's own facts (Status.Info), such as what its store
	// holds; absent when it has none.
	Info    any      `json:"info,omitempty"`
	Modules []Module `json:"modules"`
}

// Module is a Go module as the binary's build info records it.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// Consistency is the outcome of the registry/build-info cross-check.
type Consistency struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}

// Linked lists the linked groups in table order.
func (r Report) Linked() []string {
	var out []string
	for _, g := range groupspec.GroupNames() {
		if r.Groups[g].Linked {
			out = append(out, g)
		}
	}
	return out
}
