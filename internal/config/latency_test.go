package config

import (
	"strings"
	"testing"
	"time"
)

func TestLatencyDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := LatencyConfig{Window: 300 * time.Second, SubWindows: 10, Compression: 100, ReservoirSize: 2048,
		EMAAlpha: 0.3, FlushInterval: 100 * time.Millisecond, ShardBuffer: 4096}
	if c.Latency != want {
		t.Fatalf("latency defaults %+v", c.Latency)
	}
	c, err = Load([]string{"--latency-window", "60s", "--tdigest-compression", "0.5"}, env(map[string]string{"LATENCY_EMA_ALPHA": "1", "LATENCY_SUBWINDOWS": "60"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Latency.Window != time.Minute || c.Latency.Compression != 0.5 || c.Latency.EMAAlpha != 1 || c.Latency.SubWindows != 60 {
		t.Fatalf("%+v", c.Latency)
	}
}

func TestLatencyBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, val string }{
		{"LATENCY_WINDOW", "5s"}, {"LATENCY_WINDOW", "soon"}, {"LATENCY_WINDOW", "25h"},
		{"LATENCY_SUBWINDOWS", "1"}, {"LATENCY_SUBWINDOWS", "601"}, {"LATENCY_SUBWINDOWS", "x"},
		{"TDIGEST_COMPRESSION", "-1"}, {"TDIGEST_COMPRESSION", "NaN"}, {"TDIGEST_COMPRESSION", "10001"},
		{"LATENCY_RESERVOIR_SIZE", "63"}, {"LATENCY_EMA_ALPHA", "0"}, {"LATENCY_EMA_ALPHA", "1.01"},
		{"LATENCY_FLUSH_INTERVAL", "0s"}, {"LATENCY_FLUSH_INTERVAL", "11s"}, {"LATENCY_SHARD_BUFFER", "10"},
	} {
		_, err := Load(nil, env(map[string]string{tc.name: tc.val}))
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%q: want error naming it, got %v", tc.name, tc.val, err)
		}
	}
	// A window too short for its sub-windows (below 1 s each).
	_, err := Load(nil, env(map[string]string{"LATENCY_WINDOW": "10s", "LATENCY_SUBWINDOWS": "20"}))
	if err == nil || !strings.Contains(err.Error(), "LATENCY_SUBWINDOWS") {
		t.Fatalf("want the cross-setting error, got %v", err)
	}
}
