package vector

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// member is core's side as the publisher sees it (an opaque payload).
type member struct{ exports atomic.Int64 }

func (m *member) ReplicaID() string { return "r-vec" }
func (m *member) ExportLatency(int) ([]byte, error) {
	m.exports.Add(1)
	return []byte(`{"v":1}`), nil
}
func (m *member) ResetLatency() {}

// With REDIS_URL and core's member provided, the group offers the cluster
// store, its publisher (started by Start) puts the payload in a real Redis,
// and Stop ends the publisher. The same with a real Redis Cluster named by
// its nodes.
func TestClusterPublisherLifecycle(t *testing.T) {
	t.Run("single", func(t *testing.T) { publisherLifecycle(t, testredis.Start(t).URL, "redis 127.0.0.1:") })
	t.Run("cluster", func(t *testing.T) {
		publisherLifecycle(t, testredis.StartCluster(t, 3, 0).URL, "redis cluster 127.0.0.1:")
	})
}

func publisherLifecycle(t *testing.T, url, describe string) {
	env := map[string]string{"REDIS_URL": url, "REDIS_TIMEOUT": "500ms", "CLUSTER_PUBLISH_INTERVAL": "100ms", "CLUSTER_TTL": "1s", "VECTOR_DATA_DIR": t.TempDir()}
	cfg := grouptest.Config(t, "vector", Settings(), env)
	h, svc := grouptest.Host(cfg, "vector")
	m := &member{}
	svc.ClusterMember.Provide(m)
	f := newFeature(cfg.Group("vector"))
	grouptest.Mount(t, f, h)
	cl, ok := svc.Cluster.Get()
	if !ok {
		t.Fatal("no cluster store provided with REDIS_URL")
	}
	if d := cl.Describe().Store; !strings.HasPrefix(d, describe) {
		t.Fatalf("store %q, want %q...", d, describe)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 10*time.Second, "the first publication", func() bool {
		reps, err := cl.Replicas(context.Background())
		return err == nil && len(reps) == 1 && reps[0].ID == "r-vec" && string(reps[0].Data) == `{"v":1}`
	})
	waitfor.True(t, 10*time.Second, "the group ready with Redis ok", func() bool {
		st := f.Status()
		return st.Ready && strings.Contains(st.Detail, describe) && strings.Contains(st.Detail, ": ok (shared cache and rate limits)")
	})
	if !publisherRunning() {
		t.Fatal("no publisher goroutine while publishing (the check below would prove nothing)")
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Absence without waiting: once Stop has returned, no publisher
	// goroutine exists, so none can export again.
	if publisherRunning() {
		t.Fatal("publisher still running after Stop")
	}
}

// publisherRunning reports whether any goroutine is inside the cluster
// publisher's loop.
func publisherRunning() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), "cluster.(*Cluster).Run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Without REDIS_URL there is no cluster store.
func TestNoRedisNoClusterStore(t *testing.T) {
	r := newRig(t, nil)
	if _, ok := r.svc.Cluster.Get(); ok {
		t.Fatal("cluster store provided without REDIS_URL")
	}
}
