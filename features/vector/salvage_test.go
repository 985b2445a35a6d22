package vector

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSalvageCommand: vector-salvage's arguments (both directories
// required, -h), and a run on a directory that holds nothing damaged: exit
// 0, nothing skipped, and the next step named.
func TestSalvageCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--from", "x"}, salvageUsage, "--from and --to are required"},
		{[]string{"--to", "x", "extra"}, salvageUsage, "--from and --to are required"},
		{[]string{"--bogus"}, salvageUsage, "flag provided but not defined"},
		{[]string{"-h"}, salvageOK, "usage: advanced-backend vector-salvage --from DIR --to NEWDIR"},
		{[]string{"--from", filepath.Join(t.TempDir(), "absent"), "--to", filepath.Join(t.TempDir(), "new")}, salvageFailed, "not a directory"},
	} {
		var out, errOut bytes.Buffer
		if code := runSalvage(tc.args, &out, &errOut); code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("%v: exit %d (want %d), output %q %q, want %q", tc.args, code, tc.code, out.String(), errOut.String(), tc.want)
		}
	}
	from := t.TempDir()
	os.WriteFile(filepath.Join(from, "wal-0000000000000001"), []byte("AVLOG\x00\x01\n"), 0o640)
	to := filepath.Join(t.TempDir(), "new")
	var out, errOut bytes.Buffer
	if code := runSalvage([]string{"--from", from, "--to", to}, &out, &errOut); code != salvageOK ||
		!strings.Contains(out.String(), "0 collections, 0 points") || !strings.Contains(out.String(), "skipped 0 stretches, 0 bytes") ||
		!strings.Contains(out.String(), "VECTOR_DATA_DIR="+to) {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
}
