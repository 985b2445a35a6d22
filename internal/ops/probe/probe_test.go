package probe

import (
	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

func report(variant string, tags []string, linked ...string) capreport.Report {
	r := capreport.Report{Variant: variant, BuildTags: tags, Groups: map[string]capreport.GroupState{}}
	r.Consistency.OK = true
	for _, g := range groupspec.GroupNames() {
		r.Groups[g] = capreport.GroupState{}
	}
	for _, g := range linked {
		r.Groups[g] = capreport.GroupState{Linked: true}
	}
	return r
}

func TestCompare(t *testing.T) {
	hybrid := report("hybrid", []string{"nomsgpack", "llm"}, "llm")
	if m := Compare(hybrid, "hybrid", []string{"llm"}); len(m) != 0 {
		t.Errorf("matching report: %v", m)
	}
	for name, tc := range map[string]struct {
		r       capreport.Report
		variant string
		groups  []string
		want    string
	}{
		"other variant":   {hybrid, "full", nil, `variant is "hybrid", expected "full"`},
		"unknown variant": {hybrid, "nope", nil, "not declared"},
		"other groups":    {hybrid, "", []string{"llm", "ml"}, "linked groups are [llm], expected [llm ml]"},
		"no groups":       {hybrid, "", []string{}, "expected []"},
		"links wrong set": {report("hybrid", nil, "ml"), "hybrid", nil, "the registry declares [llm]"},
		"inconsistent": {func() capreport.Report {
			r := report("lean", nil)
			r.Consistency.OK, r.Consistency.Problems = false, []string{"group ml: module missing"}
			return r
		}(), "", nil, "module missing"},
	} {
		m := Compare(tc.r, tc.variant, tc.groups)
		if !strings.Contains(strings.Join(m, "; "), tc.want) {
			t.Errorf("%s: %v, want %q", name, m, tc.want)
		}
	}
}

func TestCompareBuild(t *testing.T) {
	// vector: a group with modules of its own (llm has none: it speaks to
	// its providers over net/http)
	r := report("custom", []string{"nomsgpack", "vector"}, "vector")
	b := Build{Tags: []string{"nomsgpack", "vector"}, Modules: map[string]bool{
		"github.com/qdrant/go-client": true, "google.golang.org/grpc": true,
		"github.com/redis/go-redis/v9": true, "github.com/go-redis/redis_rate/v10": true}}
	if m := CompareBuild(r, b); len(m) != 0 {
		t.Errorf("matching build: %v", m)
	}
	b2 := Build{Tags: []string{"nomsgpack", "vector"}, Modules: map[string]bool{
		"github.com/qdrant/go-client": true, "github.com/redis/go-redis/v9": true,
		"github.com/go-redis/redis_rate/v10": true, "gonum.org/v1/gonum": true}}
	got := strings.Join(CompareBuild(r, b2), "; ")
	for _, want := range []string{"module google.golang.org/grpc is not in the binary", "group ml is reported absent but its module gonum.org/v1/gonum"} {
		if !strings.Contains(got, want) {
			t.Errorf("CompareBuild: %s\nwant %q", got, want)
		}
	}
	b3 := Build{Tags: []string{"nomsgpack", "llm", "vector"}, Modules: b.Modules}
	got = strings.Join(CompareBuild(r, b3), "; ")
	if !strings.Contains(got, "build_tags") || !strings.Contains(got, "the build tags select [llm vector]") {
		t.Errorf("tags differ: %s", got)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	tl := &tail{max: 8}
	tl.Write([]byte("0123456789"))
	tl.Write([]byte("ab"))
	if got := tl.String(); got != "456789ab" {
		t.Errorf("tail %q", got)
	}
}
