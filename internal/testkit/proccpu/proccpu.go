// Package proccpu is the CPU time a process has used, for benchmarks that
// report CPU per operation: on a machine shared with other work, CPU time
// is a steadier measure of a cost than wall time (which includes waiting
// for a core). Where the kernel counts it (getrusage on Unix) it is user
// and system time, page faults included; elsewhere it is the Go runtime's
// estimate, which moves only at the end of a garbage collection.
//
// This package is for tests and benchmarks only.
package proccpu

import (
	"runtime/metrics"
	"time"
)

// runtimeEstimate is the CPU time the Go runtime has accounted: all its
// classes (user code, GC, scavenger, idle excluded).
func runtimeEstimate() time.Duration {
	ms := []metrics.Sample{{Name: "/cpu/classes/user:cpu-seconds"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/scavenge/total:cpu-seconds"}}
	metrics.Read(ms)
	var t float64
	for _, m := range ms {
		if m.Value.Kind() == metrics.KindFloat64 {
			t += m.Value.Float64()
		}
	}
	return time.Duration(t * float64(time.Second))
}
