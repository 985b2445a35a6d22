//go:build !unix

package durable

// processCPU falls back to the runtime's estimate where getrusage is not
// there (cpuSeconds: user time only, updated at garbage collections).
func processCPU() float64 { return cpuSeconds() }
