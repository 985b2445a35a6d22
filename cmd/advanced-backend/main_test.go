package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// TestHelpPrintsUsageAndExitsZero: -h and --help, alone or after a
// subcommand, print the usage with every setting and its default on stdout
// and exit 0 (they exited 2 with "flag: help requested").
func TestHelpPrintsUsageAndExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}, {"serve", "-h"}, {"serve", "--help"},
		{"capabilities", "-h"}, {"healthcheck", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != exitOK || errOut.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
			continue
		}
		for _, v := range config.CoreSettings() {
			if !strings.Contains(out.String(), "--"+v.Flag+" ") || !strings.Contains(out.String(), "env "+v.Name+", default ") {
				t.Errorf("%v: usage lacks --%s / %s with its default", args, v.Flag, v.Name)
				break
			}
		}
	}
	var out, errOut bytes.Buffer
	if code := hashPassword([]string{"-h"}, strings.NewReader(""), &out, &errOut); code != exitOK || !strings.Contains(out.String(), "-cost") {
		t.Errorf("hash-password -h: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if code := run([]string{"serve", "--no-such-flag"}, &out, &errOut); code != exitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}
}

// TestGroupCommandNotInLean: this test binary links no group (as lean), so
// a group's command is an unknown command, exit 2.
func TestGroupCommandNotInLean(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"vector-salvage", "--from", "a", "--to", "b"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), `unknown command "vector-salvage"`) {
		t.Errorf("vector-salvage without the vector group: exit %d, stderr %q", code, errOut.String())
	}
}
