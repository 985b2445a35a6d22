// Package testtool is how a test asks for an external program (redis-server,
// chromium, node, npm, podman, nginx, qemu-aarch64-static, shellcheck, ...).
//
// On a contributor's machine without the program the test is skipped with a
// message naming it and how to get it, so `go test ./...` passes anywhere.
// Under the strict switch, the environment variable TEST_STRICT=1 (which
// `make test`, and so .ci/run, sets), the same absence fails the test:
// nothing is skipped silently in CI.
//
// `go test -short` is the inner loop and runs no external tool: under -short
// Need and Missing skip whatever the switch says.
//
// This package is for tests only; it reads TEST_STRICT, a switch of the test
// run, not a setting of the service.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// StrictEnv names the strict switch: TEST_STRICT=1 (or true, on, yes).
const StrictEnv = "TEST_STRICT"

// Strict reports whether the strict switch is on.
func Strict() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(StrictEnv))) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

// Need returns the path of tool, found on PATH. When it is missing the test
// is skipped, naming the tool and howToGet (e.g. "apt-get install
// redis-server, or scripts/test-deps.sh as root"); under TEST_STRICT=1 it
// fails instead.
func Need(t testing.TB, tool, howToGet string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: runs no external tool (this test needs %s)", tool)
	}
	path, err := exec.LookPath(tool)
	if err != nil {
		Missing(t, tool, howToGet, err)
	}
	return path
}

// Want is Need for a tool that only part of a test uses (the rest runs
// without it): it returns the path and true, or logs what is left out and
// returns false; under TEST_STRICT=1 the absence fails the test.
func Want(t testing.TB, tool, howToGet string) (string, bool) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path, true
	}
	if Strict() {
		t.Fatalf("needs %s, which is missing (%v); to get it: %s [%s=1: a missing tool is a failure]", tool, err, howToGet, StrictEnv)
	}
	t.Logf("%s is missing: the part of this test that needs it is left out; to get it: %s (%s=1 makes this a failure)", tool, howToGet, StrictEnv)
	return "", false
}

// Missing ends the test for a tool (or anything else outside Go: a container
// engine, a package tree) that the caller found absent: a skip naming it and
// howToGet, or a failure under TEST_STRICT=1. why may be nil.
func Missing(t testing.TB, tool, howToGet string, why error) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: runs no external tool (this test needs %s)", tool)
	}
	msg := fmt.Sprintf("needs %s, which is missing", tool)
	if why != nil {
		msg += " (" + why.Error() + ")"
	}
	msg += "; to get it: " + howToGet
	if Strict() {
		t.Fatalf("%s [%s=1: a missing tool is a failure]", msg, StrictEnv)
	}
	t.Skipf("%s [skipped; %s=1 makes this a failure]", msg, StrictEnv)
}

// How to get the tools the tests use (Debian/Ubuntu package names); every
// one is also installed by scripts/test-deps.sh, which `make test` runs.
const (
	GetRedis      = "apt-get install redis-server (or run scripts/test-deps.sh as root; make test does)"
	GetChromium   = "apt-get install chromium (or run scripts/test-deps.sh as root; make test does)"
	GetNode       = "apt-get install nodejs npm, Node 20 or later (or run scripts/test-deps.sh as root; make test does)"
	GetNginx      = "apt-get install nginx (or run scripts/test-deps.sh as root; make test does)"
	GetPodman     = "apt-get install podman runc, or a running docker engine (or run scripts/test-deps.sh as root; make test does)"
	GetQEMU       = "apt-get install qemu-user-static (or run scripts/test-deps.sh as root; make test does)"
	GetShellcheck = "apt-get install shellcheck (or run scripts/test-deps.sh as root; make test does)"
)

// How to get the general tools some tests run: the examples' scripts
// (bash, curl), the Makefile's expansion (make), git.
const (
	GetCurl = "apt-get install curl"
	GetBash = "apt-get install bash"
	GetMake = "apt-get install make"
	GetGit  = "apt-get install git"
)
