//go:build !unix

package proccpu

import "time"

// Used is the CPU time the process has used as the Go runtime estimates
// it: there is no getrusage here.
func Used() time.Duration { return runtimeEstimate() }
