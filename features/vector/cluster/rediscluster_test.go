package cluster

// Cluster mode on a real Redis Cluster (internal/testkit/testredis StartCluster:
// three masters from Debian's redis-server on loopback ports).

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/latency"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
)

// Every replica's publication is read back and merged (scope=cluster), the
// payloads spread over the masters, the member set and the reset token
// share one slot, and a cluster-wide reset reaches every replica.
func TestOnRedisCluster(t *testing.T) {
	rc := testredis.StartCluster(t, 3, 0)
	const n = 12
	var cs []*Cluster
	var ms []*member
	var want []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("r%02d", i)
		m := newMember(t, id, float64(i+1), float64(10*(i+1)))
		c, _ := newCluster(t, rc.URL, m, 5*time.Second)
		if err := c.PublishOnce(ctx); err != nil {
			t.Fatal(err)
		}
		cs, ms, want = append(cs, c), append(ms, m), append(want, id)
	}
	reps, err := cs[3].Replicas(ctx)
	if err != nil || !slices.Equal(ids(reps), want) {
		t.Fatalf("replicas %v, %v", ids(reps), err)
	}
	parts := make([]latency.ClusterPart, len(reps))
	for i, r := range reps {
		parts[i] = latency.ClusterPart{Replica: r.ID, Age: r.Age, Data: r.Data}
	}
	if rep := latency.ClusterQuantiles(parts, nil, ""); rep.Overall["count"] != uint64(2*n) {
		t.Fatalf("merged count %v, want %d", rep.Overall["count"], 2*n)
	}

	masters := map[string]bool{}
	for _, id := range want {
		masters[rc.MasterFor(StateKey(id)).Addr] = true
	}
	if len(masters) < 2 {
		t.Fatalf("%d replicas' payloads all on one master", n)
	}
	if a, b := rc.MasterFor(membersKey), rc.MasterFor(resetKey); a != b {
		t.Fatalf("member set on %s, reset token on %s: want one slot", a.Addr, b.Addr)
	}

	told, err := cs[0].ResetAll(ctx)
	slices.Sort(told)
	if err != nil || !slices.Equal(told, want) {
		t.Fatalf("told %v, %v", told, err)
	}
	for _, c := range cs[1:] {
		if err := c.PublishOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms[1:] {
		if m.resets.Load() != 1 {
			t.Errorf("%s applied %d resets, want 1", m.id, m.resets.Load())
		}
	}
}
