package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, exitUsage, "usage: backendctl"},
		{[]string{"help"}, exitOK, "probe"},
		{[]string{"bogus"}, exitUsage, `unknown command "bogus"`},
		{[]string{"probe", "--port", "0"}, exitUsage, "out of range"},
		{[]string{"probe", "--no-such-flag"}, exitUsage, "not defined"},
		{[]string{"probe", "extra"}, exitUsage, "unexpected arguments"},
		{[]string{"load", "--duration", "1s", "http://198.51.100.7/"}, exitUsage, "not on loopback"},
		{[]string{"load", "--concurrency", "0", "http://127.0.0.1:1/"}, exitUsage, "concurrency"},
		{[]string{"smoke", "--url", "http://198.51.100.7:8070"}, exitUsage, "not on loopback"},
		{[]string{"scan", "--variant", "nope"}, exitUsage, `unknown variant "nope"`},
		{[]string{"sizes", "--runs", "0", "--only", "lean"}, exitFailed, "runs 0 out of range"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("backendctl %v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.out, stdout.String(), stderr.String())
		}
	}
}

func TestListFlag(t *testing.T) {
	var l listFlag
	l.Set("a, b,,c")
	l.Set("d")
	if !l.set || !slices.Equal(l.values, []string{"a", "b", "c", "d"}) {
		t.Errorf("%+v", l)
	}
	var empty listFlag
	empty.Set("")
	if !empty.set || len(empty.values) != 0 {
		t.Errorf("--expect-groups \"\" must mean: set, no groups: %+v", empty)
	}
}

func TestFileURL(t *testing.T) {
	if got := fileURL("/root/go/pkg/mod/x@v1/data/osv"); got != "file:///root/go/pkg/mod/x@v1/data/osv" {
		t.Error(got)
	}
}
