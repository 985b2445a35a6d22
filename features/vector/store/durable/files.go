package durable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// errNotRegular marks a path in the data directory that is a symbolic link
// or anything else than a regular file where the store keeps a file.
var errNotRegular = errors.New("not a regular file")

// openFile opens a file of the data directory without following a
// symbolic link, and refuses anything but a regular file, naming it. The
// store creates, truncates and writes files there: a link planted in the
// directory must not send those writes elsewhere (a LOCK linked to another
// file would truncate it and write a pid into it). O_NOFOLLOW makes the
// refusal race-free on unix; the Lstat before it also keeps a FIFO from
// blocking the open, and the only check Windows gets.
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	f, err := os.OpenFile(path, flag|noFollow, perm)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, notRegular(path, fi.Mode())
		}
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, err
		}
		return nil, notRegular(path, fi.Mode())
	}
	return f, nil
}

func notRegular(path string, m fs.FileMode) error {
	what := fmt.Sprintf("not a regular file (mode %v)", m.Type())
	switch {
	case m&fs.ModeSymlink != 0:
		what = "a symbolic link"
		if to, err := os.Readlink(path); err == nil {
			what += " (to " + to + ")"
		}
	case m.IsDir():
		what = "a directory"
	}
	return fmt.Errorf("%w: %s is %s: the vector store follows no links and keeps only regular files in its directory; remove it or move it aside", errNotRegular, path, what)
}

// writeNewFile writes b to path (created or truncated) without following
// a link.
func writeNewFile(path string, b []byte) error {
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile writes dir/name whole through name.tmp: write fills it, then
// it is synced, renamed into place and the directory synced, so a reader
// finds the old file or the new one, never a part; a crash leaves at most
// the .tmp, which start-up removes (isTemp). No link is followed.
func replaceFile(dir, name string, write func(io.Writer) error) error {
	path := filepath.Join(dir, name)
	f, err := openFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path + ".tmp")
	}
	return err
}

// backupsDir returns dir/backups, refusing it when it is a link or not a
// directory (the store writes and, at start-up, deletes files in it).
func backupsDir(dir string) (string, error) {
	bdir := filepath.Join(dir, "backups")
	fi, err := os.Lstat(bdir)
	if err == nil && !fi.IsDir() {
		return "", fmt.Errorf("%w: %s is %s: the vector store follows no links in its directory; remove it or move it aside",
			errNotRegular, bdir, map[bool]string{true: "a symbolic link", false: "not a directory"}[fi.Mode()&fs.ModeSymlink != 0])
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return bdir, nil
}

// Temporary files: what an interrupted compaction or backup leaves (a crash
// or SIGKILL while it writes; the file is renamed into place only once
// whole and synced).
const (
	snapshotTmp = "snapshot.tmp"
	backupTmp   = ".snapshot.tmp" // backups/vector-<time>.snapshot.tmp
)

func isTemp(name string, inBackups bool) bool {
	if inBackups {
		return strings.HasPrefix(name, "vector-") && strings.HasSuffix(name, backupTmp)
	}
	// the index list and the saved graphs are written the same way
	return name == snapshotTmp || name == indexesFile+".tmp" || name == graphsFile+".tmp"
}

// readFile is os.ReadFile through openFile: no link is followed.
func readFile(path string) ([]byte, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// sized from the file, as os.ReadFile is: io.ReadAll's doubling
	// reallocates and clears a graph file of 100 MB several times (12% of
	// a 100k reopen's profile)
	size := 0
	if st, err := f.Stat(); err == nil && st.Size() < math.MaxInt32 {
		size = int(st.Size())
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), err
}

// removeTemps deletes every temporary file the store can leave behind, at
// start-up (under the lock, before anything writes). os.Remove unlinks a
// symbolic link itself, never what it points to, and only the store's own
// names are touched. It returns what it removed, for the start-up warning.
func removeTemps(dir string) ([]string, error) {
	var removed []string
	bdir, err := backupsDir(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{dir, bdir} {
		ents, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) && d == bdir {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("vector data directory %s cannot be read: %w", d, err)
		}
		for _, e := range ents {
			if !isTemp(e.Name(), d == bdir) {
				continue
			}
			path := filepath.Join(d, e.Name())
			what := e.Name()
			if d == bdir {
				what = filepath.Join("backups", e.Name())
			}
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				what += fmt.Sprintf(" (%d bytes)", fi.Size())
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("vector data directory %s: remove the unfinished %s: %w", dir, path, err)
			}
			removed = append(removed, what)
		}
	}
	return removed, nil
}
