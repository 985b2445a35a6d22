package proccpu

import (
	"runtime"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

var sink uint64

// Work done shows in Used: it grows while the test spins (bounded by
// waitfor's limit, not a timed assertion of how much).
func TestUsedGrowsWithWork(t *testing.T) {
	before := Used()
	waitfor.True(t, 30*time.Second, "CPU time used to grow", func() bool {
		for i := range 1 << 20 {
			sink += uint64(i) * 2654435761
		}
		runtime.GC() // the runtime's estimate (not Unix) moves at a collection
		return Used() > before
	})
}
