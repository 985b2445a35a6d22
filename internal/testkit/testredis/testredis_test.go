package testredis

import (
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	if err := s.Ping(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Ping(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if err := s.Ping(); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	two := Start(t)
	if two.Addr == s.Addr {
		t.Fatal("two servers on one address")
	}
}

// A three-master cluster with one replica each: every node agrees the
// cluster is ok; killing a master promotes its replica, and the killed
// master rejoins (as a replica) after Restart.
func TestClusterFailover(t *testing.T) {
	c := StartCluster(t, 3, 1)
	nodes, err := c.Topology()
	if err != nil {
		t.Fatal(err)
	}
	masters := 0
	for _, n := range nodes {
		if n.Master {
			masters++
		}
	}
	if len(nodes) != 6 || masters != 3 {
		t.Fatalf("topology %+v", nodes)
	}
	m := c.MasterFor("some-key")
	r := c.ReplicaOf(m)
	if r == nil {
		t.Fatalf("master %s has no replica", m.Addr)
	}
	m.Kill()
	waitfor.True(t, clusterTimeout, "the replica to take over the key's slot", func() bool {
		nodes, err := c.Topology()
		if err != nil {
			return false
		}
		for _, n := range nodes {
			if n.Addr == r.Addr && n.Master && !n.Failed {
				return true
			}
		}
		return false
	})
	if got := c.MasterFor("some-key"); got != r {
		t.Fatalf("key served by %s, want the promoted %s", got.Addr, r.Addr)
	}
	m.Restart()
	c.WaitOK(t)
	if c.ReplicaOf(r) != m {
		t.Fatalf("restarted %s is not the replica of the new master %s", m.Addr, r.Addr)
	}
}
