package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestClusterDefaults(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"ADDR": "0.0.0.0:9123"}))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if want := host + ":9123"; c.Cluster.ReplicaID != want && host != "" {
		t.Errorf("default REPLICA_ID %q, want %q", c.Cluster.ReplicaID, want)
	}
	if c.Cluster.PublishInterval != 2*time.Second || c.Cluster.TTL != 6*time.Second || c.Cluster.MaxPublishBytes != 256<<10 {
		t.Errorf("cluster defaults %+v", c.Cluster)
	}
	c, err = Load([]string{"--replica-id", "eu-1.b"}, env(map[string]string{"CLUSTER_PUBLISH_INTERVAL": "500ms", "CLUSTER_TTL": "1s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.ReplicaID != "eu-1.b" || c.Cluster.PublishInterval != 500*time.Millisecond || c.Cluster.TTL != time.Second {
		t.Errorf("%+v", c.Cluster)
	}
}

func TestClusterBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, val string }{
		{"REPLICA_ID", "has space"}, {"REPLICA_ID", strings.Repeat("a", 65)}, {"REPLICA_ID", "r/1"},
		{"CLUSTER_PUBLISH_INTERVAL", "10ms"}, {"CLUSTER_PUBLISH_INTERVAL", "2m"},
		{"CLUSTER_TTL", "3s"}, // below 2 x the default interval
		{"CLUSTER_MAX_PUBLISH_BYTES", "100"}, {"CLUSTER_MAX_PUBLISH_BYTES", "x"},
	} {
		_, err := Load(nil, env(map[string]string{tc.name: tc.val}))
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%q: want error naming it, got %v", tc.name, tc.val, err)
		}
	}
}
