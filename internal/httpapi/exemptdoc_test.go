package httpapi

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeListsRateLimitExemptPaths: README's rate-limiting section names
// every path the limiter exempts (probePaths), and no other.
func TestReadmeListsRateLimitExemptPaths(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)with `Retry-After` \\(seconds\\)\\.(.*?)are exempt\\.").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md's rate-limiting section no longer lists the exempt paths (\"... are exempt.\")")
	}
	sentence := string(m[1])
	listed := map[string]bool{}
	for _, p := range regexp.MustCompile("`(/[^`]*)`").FindAllStringSubmatch(sentence, -1) {
		listed[p[1]] = true
	}
	for _, p := range probePaths {
		if !listed[p] {
			t.Errorf("README.md does not list %s among the rate-limit exempt paths: %q", p, sentence)
		}
	}
	for p := range listed {
		if !strings.Contains(strings.Join(probePaths, " ")+" ", p+" ") {
			t.Errorf("README.md lists %s as exempt; the limiter exempts %v", p, probePaths)
		}
	}
}
