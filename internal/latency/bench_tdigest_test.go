//go:build !notdigest

package latency

import (
	"sync"
	"testing"

	"github.com/caio/go-tdigest/v4"
)

// BenchmarkMutexTDigestAdd is the design the engine avoids: a mutex
// around the digest's Add on the request path (the baseline).
func BenchmarkMutexTDigestAdd(b *testing.B) {
	d, err := tdigest.New(tdigest.Compression(100), tdigest.LocalRandomNumberGenerator(1))
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			mu.Lock()
			_ = d.Add(float64(i%1000) * 0.1)
			mu.Unlock()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				mu.Lock()
				_ = d.Add(float64(i%1000) * 0.1)
				mu.Unlock()
			}
		})
	})
}
