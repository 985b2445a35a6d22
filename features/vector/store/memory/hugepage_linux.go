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
// pages where its 2 MiB-aligned part lies (madvise MADV_HUGEPAGE; with the
// system's THP mode "madvise", the default of several distributions, the
// Go heap otherwise gets none). It is advice only: it changes no byte, a
// page already touched keeps its size, and a failure (a kernel without
// THP) changes nothing, so its error is dropped. Worth it for a large
// slice not yet touched: a fault then maps 2 MiB instead of 4 KiB, and at
// a reload's sizes the faults were most of its time.
func adviseHuge[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	p := unsafe.Pointer(unsafe.SliceData(s))
	start := uintptr(p)
	end := start + uintptr(cap(s))*unsafe.Sizeof(zero)
	from := (start + hugePage - 1) &^ (hugePage - 1)
	to := end &^ (hugePage - 1)
	if to <= from {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, from-start)), to-from)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
