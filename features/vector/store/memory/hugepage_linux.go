// The storage's huge-page advice (growCap, storage.go); hugepage_other.go
// is the no-op elsewhere.

package memory

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on the platforms Go
// runs Linux on with them (x86-64, arm64 with 4 KiB pages).
const hugePage = 2 << 20

// adviseHuge asks the kernel to back s's memory with transparent huge
// pages, on the 2 MiB pages s reaches into (madvise MADV_HUGEPAGE; with
// the system's THP mode "madvise", the default of several distributions,
// the Go heap otherwise gets none). It is advice only: it changes no byte,
// a page already touched keeps its size, and a failure (a kernel without
// THP, a range reaching past the heap's mapping) changes nothing, so its
// error is dropped. Worth it for a large slice not yet touched: a fault
// then maps 2 MiB instead of 4 KiB, and at a reload's sizes the faults
// were most of its time (first touch of 30 MiB here: 250 ms in 4 KiB
// pages, 24 ms in huge ones). The range is rounded out, not in: the heap
// does not align a block of a few MiB to 2 MiB, and advised only on its
// aligned part a block got huge pages for about half of its bytes (a burst
// of upserts went at 42,000 points/s against 56,000 rounded out). The
// neighbouring heap memory so advised behaves as under THP mode "always",
// which the Go runtime supports.
func adviseHuge[T any](s []T) {
	var zero T
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < hugePage/2 {
		return // a small slice would have neighbours take 2 MiB pages for it
	}
	from := start &^ (hugePage - 1)
	to := (start + size + hugePage - 1) &^ (hugePage - 1)
	// the range reaches past s: madvise by address, never a Go pointer
	// to memory s does not hold
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, from, to-from, syscall.MADV_HUGEPAGE)
}
