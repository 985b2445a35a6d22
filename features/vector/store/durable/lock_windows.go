//go:build windows

package durable

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// lockFile takes an exclusive lock on f without waiting (LockFileEx on the
// first byte); Windows drops it when the process ends.
func lockFile(f *os.File) error {
	var ol syscall.Overlapped
	const lockfileExclusiveLock, lockfileFailImmediately = 2, 1
	r, _, err := procLockFileEx.Call(f.Fd(), lockfileExclusiveLock|lockfileFailImmediately, 0, 1, 0, uintptr(unsafe.Pointer(&ol)))
	if r == 0 {
		if errors.Is(err, syscall.Errno(33)) { // ERROR_LOCK_VIOLATION
			return errLocked
		}
		return err
	}
	return nil
}

var procLockFileEx = syscall.NewLazyDLL("kernel32.dll").NewProc("LockFileEx")

// syncDir is a no-op: Windows cannot open a directory for syncing, and
// NTFS journals renames itself.
func syncDir(string) error { return nil }

func diskFull(err error) bool {
	return errors.Is(err, syscall.Errno(112)) || errors.Is(err, syscall.Errno(39)) // ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL
}

// noFollow: Windows has no such open flag; openFile's Lstat refuses links.
const noFollow = 0
