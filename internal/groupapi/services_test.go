package groupapi

import (
	"fmt"
	"strings"
	"testing"
)

// TestSlotIsSetOnce: a second Provide is a programming error caught at
// start-up, not a silent replacement.
func TestSlotIsSetOnce(t *testing.T) {
	var s Services
	s.Cache.Provide(nil)
	defer func() {
		if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "provided twice") {
			t.Fatalf("second Provide: %v", v)
		}
	}()
	s.Cache.Provide(nil)
}
