package memory

// prefetch issues PREFETCHT0 for each 64-byte line of the n bytes at p.
//
//go:noescape
func prefetch(p *float32, n int)
