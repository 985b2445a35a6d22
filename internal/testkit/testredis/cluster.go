package testredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// NodeTimeout is the cluster's cluster-node-timeout: a master that does
// not answer this long is marked failed, and its replica (if any) takes
// over about a second later. Short enough for a test to watch a failover,
// long enough that a busy machine does not fail a live node.
const NodeTimeout = 2 * time.Second

// clusterTimeout bounds creating the cluster and each wait for its state.
const clusterTimeout = 60 * time.Second

// Cluster is a Redis Cluster of real redis-server processes on loopback
// ports, created with `redis-cli --cluster create`.
type Cluster struct {
	// Nodes are the servers; the first Masters were created as masters,
	// the rest as their replicas (which replica serves which master is
	// redis-cli's choice: see ReplicaOf). Roles change on failover.
	Nodes   []*Server
	Masters int
	// URL names the created masters as seeds, the form REDIS_URL takes for
	// a cluster: redis://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
	URL string

	t testing.TB
}

// StartCluster starts masters x (1 + replicas) cluster-enabled servers,
// joins them with redis-cli (all 16384 slots spread over the masters, each
// master with `replicas` replicas) and waits until every node reports
// cluster_state:ok. Everything stops when the test ends.
func StartCluster(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	return StartClusterAuth(t, masters, replicas, "")
}

// StartClusterAuth is StartCluster with a password every node requires
// (requirepass, and masterauth between nodes); URL carries it.
func StartClusterAuth(t testing.TB, masters, replicas int, password string) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("StartCluster: redis-cli needs at least 3 masters, got %d", masters)
	}
	cli := Tool(t, "redis-cli")
	c := &Cluster{Masters: masters, t: t}
	var addrs []string
	for i := 0; i < masters*(1+replicas); i++ {
		s := startServer(t, password,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", // in --dir, kept across Restart
			"--cluster-node-timeout", strconv.Itoa(int(NodeTimeout/time.Millisecond)),
			"--cluster-announce-ip", "127.0.0.1",
			// a replica may always take over (it was just in sync), and
			// replicas stay with the master redis-cli gave them
			"--cluster-replica-validity-factor", "0",
			"--cluster-allow-replica-migration", "no")
		c.Nodes = append(c.Nodes, s)
		addrs = append(addrs, s.Addr)
	}
	c.URL = "redis://" + strings.Join(addrs[:masters], ",")
	if password != "" {
		c.URL = "redis://:" + url.PathEscape(password) + "@" + strings.Join(addrs[:masters], ",")
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	if password != "" {
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+password) // not -a: no warning, not in ps
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK(t)
	// redis-cli returns once the nodes met; wait until every node has
	// heard of every replica too, so the roles are settled.
	var seen string
	if _, err := waitfor.Poll(clusterTimeout, func() (struct{}, bool) {
		for _, s := range c.Nodes {
			nodes, err := topologyFrom(s)
			if err != nil {
				seen = err.Error()
				return struct{}{}, false
			}
			n := 0
			for _, x := range nodes {
				if x.MasterID != "" {
					n++
				}
			}
			if n != masters*replicas {
				seen = fmt.Sprintf("%s knows %d replicas", s.Addr, n)
				return struct{}{}, false
			}
		}
		return struct{}{}, true
	}); err != nil {
		t.Fatalf("cluster roles not settled: %v; last: %s", err, seen)
	}
	return c
}

// WaitOK waits until every running node reports cluster_state:ok, knows
// every node and sees all slots served.
func (c *Cluster) WaitOK(t testing.TB) {
	t.Helper()
	var last string
	if _, err := waitfor.Poll(clusterTimeout, func() (struct{}, bool) {
		for _, s := range c.Nodes {
			if !s.Running() {
				continue
			}
			info, err := s.Do("CLUSTER", "INFO")
			if err != nil {
				last = s.Addr + ": " + err.Error()
				return struct{}{}, false
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") ||
				!strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))) {
				last = s.Addr + ": " + strings.Join(strings.Fields(info)[:min(6, len(strings.Fields(info)))], " ")
				return struct{}{}, false
			}
		}
		return struct{}{}, true
	}); err != nil {
		t.Fatalf("cluster not ok: %v; last: %s", err, last)
	}
}

// Node is one line of CLUSTER NODES.
type Node struct {
	ID, Addr string
	Master   bool
	MasterID string // of a replica
	Failed   bool   // flagged fail (or pfail)
	Slots    []string
}

// Topology is the cluster as a running node sees it.
func (c *Cluster) Topology() ([]Node, error) {
	var lastErr error
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		nodes, err := topologyFrom(s)
		if err != nil {
			lastErr = err
			continue
		}
		return nodes, nil
	}
	return nil, fmt.Errorf("no running node answers CLUSTER NODES: %v", lastErr)
}

func topologyFrom(s *Server) ([]Node, error) {
	out, err := s.Do("CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	var nodes []Node
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q", line)
		}
		flags := "," + f[2] + ","
		n := Node{ID: f[0], Addr: strings.Split(f[1], "@")[0],
			Master: strings.Contains(flags, ",master,"), Failed: strings.Contains(flags, "fail"), Slots: f[8:]}
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// ReplicaOf returns the server that replicates master, or nil.
func (c *Cluster) ReplicaOf(master *Server) *Server {
	c.t.Helper()
	nodes, err := c.Topology()
	if err != nil {
		c.t.Fatal(err)
	}
	var id string
	for _, n := range nodes {
		if n.Addr == master.Addr {
			id = n.ID
		}
	}
	for _, n := range nodes {
		if id != "" && n.MasterID == id {
			return c.server(n.Addr)
		}
	}
	return nil
}

// MasterFor returns the server that serves key's slot now.
func (c *Cluster) MasterFor(key string) *Server {
	c.t.Helper()
	var slot int
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		out, err := s.Do("CLUSTER", "KEYSLOT", key)
		if err != nil {
			c.t.Fatal(err)
		}
		slot, _ = strconv.Atoi(out)
		break
	}
	nodes, err := c.Topology()
	if err != nil {
		c.t.Fatal(err)
	}
	for _, n := range nodes {
		if !n.Master || n.Failed {
			continue
		}
		for _, r := range n.Slots {
			lo, hi, _ := strings.Cut(r, "-")
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if hi == "" {
				b, err2 = a, nil
			}
			if err1 == nil && err2 == nil && slot >= a && slot <= b {
				return c.server(n.Addr)
			}
		}
	}
	c.t.Fatalf("no live master serves slot %d of %q", slot, key)
	return nil
}

func (c *Cluster) server(addr string) *Server {
	for _, s := range c.Nodes {
		if s.Addr == addr {
			return s
		}
	}
	c.t.Fatalf("node %s is not one of the cluster's servers", addr)
	return nil
}

// Running reports whether the server process is up (not killed).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Do sends one command over a fresh connection (bounded by a second) and
// returns the reply as text: a status, an integer, or a bulk string. An
// error reply is an error; arrays are not supported (the tests need none).
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if s.password != "" {
		if _, err := command(c, r, "AUTH", s.password); err != nil {
			return "", fmt.Errorf("AUTH: %w", err)
		}
	}
	return command(c, r, args...)
}

// command writes one command and reads its reply.
func command(w io.Writer, r *bufio.Reader, args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unsupported reply %q", line)
}
