package capability

import (
	"fmt"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

type stubLatency struct{ groupapi.LatencySource }
type stubEmbedder struct{ groupapi.Embedder }

// TestGroupServicesHandOutOnlyDeclaredSides: a group's view gives the
// sides it declared, wired to core's services, and refuses every other one
// with an error naming the group, the service and the declaration.
func TestGroupServicesHandOutOnlyDeclaredSides(t *testing.T) {
	all := &groupapi.Services{}
	gs := Uses{Reads: []groupapi.AnyKey{LatencyKey}, Provides: []groupapi.AnyKey{EmbedderKey}}.View(all, "ml")

	lat, err := groupapi.SourceOf(gs, LatencyKey)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := lat.Get(); ok || v != nil {
		t.Fatalf("declared but never provided: got (%v, %v), want (nil, false)", v, ok)
	}
	want := stubLatency{}
	all.Latency.Provide(want)
	if v, ok := lat.Get(); !ok || v != want {
		t.Fatalf("after core provides: (%v, %v)", v, ok)
	}
	if _, isProvider := lat.(groupapi.Provider[groupapi.LatencySource]); isProvider {
		t.Fatal("a source can be asserted to its provider")
	}

	emb, err := groupapi.ProviderOf(gs, EmbedderKey)
	if err != nil {
		t.Fatal(err)
	}
	e := stubEmbedder{}
	emb.Provide(e)
	if v, ok := all.Embedder.Get(); !ok || v != e {
		t.Fatalf("core does not see what the group provided: (%v, %v)", v, ok)
	}

	for _, tc := range []struct {
		name    string
		err     error
		service string
		field   string
	}{
		{"read of an undeclared service", second(groupapi.SourceOf(gs, CacheKey)), "cache", "Uses.Reads"},
		{"read of a service declared only as provided", second(groupapi.SourceOf(gs, EmbedderKey)), "embedder", "Uses.Reads"},
		{"provide of an undeclared service", second(groupapi.ProviderOf(gs, LimiterKey)), "limiter", "Uses.Provides"},
		{"provide of a service declared only as read", second(groupapi.ProviderOf(gs, LatencyKey)), "latency", "Uses.Provides"},
		{"read of core's cluster member", second(groupapi.SourceOf(gs, ClusterMemberKey)), "cluster_member", "Uses.Reads"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), "group ml") ||
			!strings.Contains(tc.err.Error(), tc.service) || !strings.Contains(tc.err.Error(), tc.field) {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	if src, err := groupapi.SourceOf(gs, CacheKey); src != nil || err == nil {
		t.Fatalf("undeclared source handed out: %v %v", src, err)
	}
	if p, err := groupapi.ProviderOf(gs, LimiterKey); p != nil || err == nil {
		t.Fatalf("undeclared provider handed out: %v %v", p, err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestGroupProvideIsSetOnce: through a group's view, as through core's
// slots, a second provide is a programming error caught where it happens
// (Setup, at start-up), naming the group and the service.
func TestGroupProvideIsSetOnce(t *testing.T) {
	all := &groupapi.Services{}
	all.Limiter.Provide(groupapi.Limiter(nil))
	p, err := groupapi.ProviderOf(Uses{Provides: []groupapi.AnyKey{LimiterKey}}.View(all, "vector"), LimiterKey)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		v := recover()
		if s := fmt.Sprint(v); v == nil || !strings.Contains(s, "group vector provides limiter") || !strings.Contains(s, "provided already") {
			t.Fatalf("second provide: %v", v)
		}
	}()
	p.Provide(nil)
}

// TestGroupServicesWithoutCore: a view with no services behind it (a test
// that wires none) still works for what was declared, and a nil view
// refuses everything rather than handing out nil.
func TestGroupServicesWithoutCore(t *testing.T) {
	var none *groupapi.Services
	gs := Uses{Reads: []groupapi.AnyKey{RateLimitOverridesKey}}.View(none, "optional")
	src, err := groupapi.SourceOf(gs, RateLimitOverridesKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Get(); ok {
		t.Fatal("provided from nowhere")
	}
	if _, err := groupapi.SourceOf(nil, LatencyKey); err == nil || !strings.Contains(err.Error(), "latency") {
		t.Fatalf("nil view: %v", err)
	}
	if _, err := groupapi.ProviderOf(nil, CacheKey); err == nil {
		t.Fatal("nil view handed out a provider")
	}
}

// TestRegisterRefusesSecondProvider: each service has at most one provider
// in any build, checked from the declarations when groups register (init),
// not only when the second Provide happens to run.
func TestRegisterRefusesSecondProvider(t *testing.T) {
	withCleanRegistry(t)
	llm := fake("llm")
	llm.Uses = Uses{Reads: []groupapi.AnyKey{CacheKey}, Provides: []groupapi.AnyKey{EmbedderKey}}
	if err := register(llm); err != nil {
		t.Fatal(err)
	}
	if got := UsesOf("llm"); len(got.Reads) != 1 || got.Reads[0].Name() != "cache" || got.Provides[0].Name() != "embedder" {
		t.Fatalf("UsesOf(llm) = %+v", got)
	}
	if got := UsesOf("vector"); got.Reads != nil || got.Provides != nil {
		t.Fatalf("an unregistered group declares %+v", got)
	}

	vector := fake("vector")
	vector.Uses = Uses{Reads: []groupapi.AnyKey{EmbedderKey}, Provides: []groupapi.AnyKey{CacheKey, EmbedderKey}}
	if err := register(vector); err == nil || !strings.Contains(err.Error(), "provides embedder, which group llm provides already") {
		t.Fatalf("second provider of embedder: %v", err)
	}
	ml := fake("ml")
	ml.Uses = Uses{Provides: []groupapi.AnyKey{LatencyKey}}
	if err := register(ml); err == nil || !strings.Contains(err.Error(), "provides latency, which core provides") {
		t.Fatalf("group providing core's service: %v", err)
	}
	opt := fake("optional")
	opt.Uses = Uses{Reads: []groupapi.AnyKey{nil}}
	if err := register(opt); err == nil || !strings.Contains(err.Error(), "not one of the service keys") {
		t.Fatalf("nil key: %v", err)
	}
	opt.Uses = Uses{Reads: []groupapi.AnyKey{groupapi.Key[groupapi.Embedder]{}}}
	if err := register(opt); err == nil || !strings.Contains(err.Error(), "not one of the service keys") {
		t.Fatalf("zero key: %v", err)
	}
	// Refused registrations left nothing behind; readers of one service
	// may be many.
	vector.Uses.Provides = []groupapi.AnyKey{CacheKey}
	if err := register(vector); err != nil {
		t.Fatal(err)
	}
}

// TestSwitchesOnlyForTheGroupThatDeclaresThem: the power to switch other
// groups off is a declared service like the others: a group that does not
// declare SwitchesKey is refused it, and no group may provide it.
func TestSwitchesOnlyForTheGroupThatDeclaresThem(t *testing.T) {
	all := &groupapi.Services{}
	if _, err := groupapi.SourceOf(Uses{Reads: []groupapi.AnyKey{LatencyKey}}.View(all, "ml"), SwitchesKey); err == nil {
		t.Fatal("a group that did not declare SwitchesKey got it")
	}
	if _, err := groupapi.SourceOf(Uses{Reads: []groupapi.AnyKey{SwitchesKey}}.View(all, "optional"), SwitchesKey); err != nil {
		t.Fatal(err)
	}
	if err := (Uses{Provides: []groupapi.AnyKey{SwitchesKey}}).check(nil); err == nil {
		t.Fatal("a group may provide the switches")
	}
}
