package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sync"
	"time"
)

// ClusterConfig configures cluster mode: replicas behind a load balancer
// that share latency state through Redis (REDIS_URL, vector group).
type ClusterConfig struct {
	// ReplicaID names this replica in cluster reports, /health, /__phase,
	// logs and metrics; default host name + ":" + the port of ADDR.
	ReplicaID string
	// PublishInterval is how often the replica publishes its latency window.
	PublishInterval time.Duration
	// TTL is how long a publication lives; a stopped replica leaves the
	// cluster view after it.
	TTL time.Duration
	// MaxPublishBytes bounds one publication.
	MaxPublishBytes int
}

// replicaIDRE is compiled on first use, not in package init.
var replicaIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`) })

func clusterSettings(c *ClusterConfig) []Setting {
	return []Setting{
		Bind(&c.ReplicaID, Checked("REPLICA_ID", "",
			"this replica's name in cluster reports, /health, logs and metrics (1-64 of A-Z a-z 0-9 . _ : -); default hostname:port of ADDR",
			func(v string) error {
				if v != "" && !replicaIDRE().MatchString(v) {
					return errors.New("want 1-64 characters of A-Z a-z 0-9 . _ : -")
				}
				return nil
			})),
		Bind(&c.PublishInterval, DurationText("CLUSTER_PUBLISH_INTERVAL", "2s", 100*time.Millisecond, time.Minute,
			"how often a replica publishes its latency window to Redis")),
		Bind(&c.TTL, DurationText("CLUSTER_TTL", "6s", 200*time.Millisecond, 10*time.Minute,
			"lifetime of a publication: a stopped replica leaves the cluster view after it (at least 2 x CLUSTER_PUBLISH_INTERVAL)")),
		Bind(&c.MaxPublishBytes, Int("CLUSTER_MAX_PUBLISH_BYTES", 262144, 4096, 16<<20,
			"bound on one publication in bytes; the least busy routes are left out beyond it")),
	}
}

// validateCluster checks the timing rule and fills the default REPLICA_ID.
func (c *Config) validateCluster() error {
	if c.Cluster.TTL < 2*c.Cluster.PublishInterval {
		return &Error{Var: "CLUSTER_TTL", Value: c.Cluster.TTL.String(),
			Err: fmt.Errorf("want at least 2 x CLUSTER_PUBLISH_INTERVAL (%s)", 2*c.Cluster.PublishInterval)}
	}
	if c.Cluster.ReplicaID == "" {
		c.Cluster.ReplicaID = defaultReplicaID(c.Addr)
	}
	return nil
}

// defaultReplicaID is hostname:port (the port of ADDR).
func defaultReplicaID(addr string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		port = "0"
	}
	id := host + ":" + port
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	return id
}
