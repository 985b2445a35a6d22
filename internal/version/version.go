// Package version holds the release version and commit, stamped at link time:
//
//	-ldflags "-X github.com/advanced-backend/advanced-backend/internal/version.Version=v0.1.0 -X ...Commit=abc123"
//
// (builds here run with GOFLAGS=-buildvcs=false, so the build info carries no VCS data).
package version

var (
	// Version is the release version, "dev" when not stamped.
	Version = "dev"
	// Commit is the source commit, "unknown" when not stamped.
	Commit = "unknown"
)

// Full is the release version with the linked groups as a suffix, such as
// v0.1.0+llm+vector.
func Full(linked []string) string {
	v := Version
	for _, g := range linked {
		v += "+" + g
	}
	return v
}
