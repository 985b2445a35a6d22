//go:build !notdigest

package latency

import "testing"

func testFactories(t *testing.T) map[string]Factory {
	t.Helper()
	f, err := NewTDigestFactory(100)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Factory{"tdigest": f, "reservoir": NewReservoirFactory(64)}
}

func TestSelectFallsBackOnBadCompression(t *testing.T) {
	c := Select(0.5, 128)
	if c.Info.Name != "reservoir" || !c.Info.Fallback || c.Info.Reason == "" {
		t.Fatalf("%+v", c.Info)
	}
	if c := Select(100, 128); c.Info.Name != "tdigest" || c.Info.Fallback {
		t.Fatalf("%+v", c.Info)
	}
}
