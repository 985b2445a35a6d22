package capability

import (
	"fmt"
	"slices"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// The keys of the Services, one per slot.
var (
	LatencyKey            = groupapi.NewKey("latency", func(s *groupapi.Services) *groupapi.Slot[groupapi.LatencySource] { return &s.Latency })
	EmbedderKey           = groupapi.NewKey("embedder", func(s *groupapi.Services) *groupapi.Slot[groupapi.Embedder] { return &s.Embedder })
	LimiterKey            = groupapi.NewKey("limiter", func(s *groupapi.Services) *groupapi.Slot[groupapi.Limiter] { return &s.Limiter })
	CacheKey              = groupapi.NewKey("cache", func(s *groupapi.Services) *groupapi.Slot[groupapi.ResponseCache] { return &s.Cache })
	RateLimitOverridesKey = groupapi.NewKey("rate_limit_overrides", func(s *groupapi.Services) *groupapi.Slot[groupapi.RateLimitOverrides] { return &s.RateLimitOverrides })
	ClusterMemberKey      = groupapi.NewKey("cluster_member", func(s *groupapi.Services) *groupapi.Slot[groupapi.ClusterMember] { return &s.ClusterMember })
	ClusterKey            = groupapi.NewKey("cluster", func(s *groupapi.Services) *groupapi.Slot[groupapi.ClusterLatency] { return &s.Cluster })
	SwitchesKey           = groupapi.NewKey("group_switches", func(s *groupapi.Services) *groupapi.Slot[groupapi.GroupSwitches] { return &s.Switches })
)

// keys are all the service keys; coreProvides those core provides, which
// no group may declare that it provides.
var (
	keys         = []groupapi.AnyKey{LatencyKey, EmbedderKey, LimiterKey, CacheKey, RateLimitOverridesKey, ClusterMemberKey, ClusterKey, SwitchesKey}
	coreProvides = []groupapi.AnyKey{LatencyKey, RateLimitOverridesKey, ClusterMemberKey, SwitchesKey}
)

// Uses declares which services a group reads and which it provides. The
// registry refuses a group that provides what core provides or what another
// registered group already declares to provide, so each service has at
// most one provider in every build.
type Uses struct {
	Reads    []groupapi.AnyKey
	Provides []groupapi.AnyKey
}

func (u Uses) provides(k groupapi.AnyKey) bool {
	return slices.ContainsFunc(u.Provides, groupapi.SameKey(k))
}

// View is group's view of s: the sides it declared in u.
func (u Uses) View(s *groupapi.Services, group string) *groupapi.GroupServices {
	return s.For(group, u.Reads, u.Provides)
}

// check refuses providing a core service, and a service other declarations
// already provide.
func (u Uses) check(others map[string]GroupInfo) error {
	for _, k := range slices.Concat(u.Reads, u.Provides) {
		if k == nil || !slices.ContainsFunc(keys, groupapi.SameKey(k)) {
			return fmt.Errorf("declares %v, which is not one of the service keys", k)
		}
	}
	for _, k := range u.Provides {
		if slices.ContainsFunc(coreProvides, groupapi.SameKey(k)) {
			return fmt.Errorf("provides %s, which core provides", k.Name())
		}
		for name, o := range others {
			if o.Uses.provides(k) {
				return fmt.Errorf("provides %s, which group %s provides already", k.Name(), name)
			}
		}
	}
	return nil
}
