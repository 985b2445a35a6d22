//go:build unix

package proccpu

import (
	"syscall"
	"time"
)

// Used is the CPU time the process has used, user and system, as the
// kernel counts it (the runtime's estimate if getrusage fails).
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return runtimeEstimate()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
