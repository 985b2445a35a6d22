//go:build notdigest

package latency

import "testing"

func testFactories(t *testing.T) map[string]Factory {
	return map[string]Factory{"reservoir": NewReservoirFactory(64)}
}

func TestSelectIsReservoir(t *testing.T) {
	if c := Select(100, 128); c.Info.Name != "reservoir" || !c.Info.Fallback || c.Info.Reason != "built with the notdigest tag" {
		t.Fatalf("%+v", c.Info)
	}
}
