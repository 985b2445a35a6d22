package latency

import (
	"errors"
	"strings"
	"testing"
)

// The reservoir cannot be exported: its payload says why, carries no
// series, and a merging replica lists it as skipped.
func TestClusterReservoirIsUnsupported(t *testing.T) {
	e, _, _ := newTestEngine(t, nil)
	record(t, e, "GET", "/health", 200, 1, 2, 3)
	if err := e.ClusterSupported(); !errors.Is(err, ErrClusterUnsupported) {
		t.Fatalf("ClusterSupported: %v", err)
	}
	data, err := e.ExportCluster(4096)
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeClusterState(data)
	if err != nil || !strings.Contains(st.Unsupported, "reservoir") || len(st.Routes) != 0 {
		t.Fatalf("state %+v, %v", st, err)
	}
	rep := ClusterQuantiles([]ClusterPart{{Replica: "r9", Data: data}}, nil, "")
	if len(rep.Replicas) != 0 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, "t-digest") {
		t.Fatalf("replicas %+v skipped %+v", rep.Replicas, rep.Skipped)
	}
	if rep.Overall["count"] != uint64(0) || rep.Overall["p50"] != nil {
		t.Errorf("empty merge: %v", rep.Overall)
	}
}
