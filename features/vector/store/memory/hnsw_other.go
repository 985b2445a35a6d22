//go:build !amd64

package memory

// prefetch is a hint the portable build does without.
func prefetch(p *float32, n int) {}
