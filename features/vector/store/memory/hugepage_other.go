//go:build !linux

package memory

// adviseHuge is advice for Linux's transparent huge pages
// (hugepage_linux.go); elsewhere nothing to ask.
func adviseHuge[T any](s []T) {}
