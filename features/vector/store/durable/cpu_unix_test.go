//go:build unix

package durable

import "syscall"

// processCPU is the CPU time the process has used, user and system, as
// the kernel counts it: a reload's page faults are system time.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuSeconds()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
