package testtool

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The helper is exercised in a child test process (this test binary, re-run
// with -test.run), so that its skip and its failure can be observed.
func TestChildNeedsMissingTool(t *testing.T) {
	if os.Getenv("TESTTOOL_CHILD") != "1" {
		t.Skip("run by TestNeed in a child process")
	}
	Need(t, "no-such-tool-testtool", "apt-get install no-such-tool")
	t.Log("REACHED-AFTER-NEED")
}

func runChild(t *testing.T, strict string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestChildNeedsMissingTool$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "TESTTOOL_CHILD=1", StrictEnv+"="+strict)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestNeed(t *testing.T) {
	out, err := runChild(t, "")
	if err != nil || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "no-such-tool-testtool") ||
		!strings.Contains(out, "apt-get install no-such-tool") || strings.Contains(out, "REACHED-AFTER-NEED") {
		t.Fatalf("without %s: want a skip naming the tool and how to get it; err %v\n%s", StrictEnv, err, out)
	}
	out, err = runChild(t, "1")
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "no-such-tool-testtool") ||
		strings.Contains(out, "REACHED-AFTER-NEED") {
		t.Fatalf("with %s=1: want a failure naming the tool; err %v\n%s", StrictEnv, err, out)
	}
}

func TestNeedFound(t *testing.T) {
	p := Need(t, "sh", "a POSIX system")
	if p == "" {
		t.Fatal("empty path for sh")
	}
}

func TestStrictValues(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "true": true, "ON": true, "yes": true, "": false, "0": false, "off": false} {
		t.Setenv(StrictEnv, v)
		if Strict() != want {
			t.Errorf("%s=%q: Strict() = %v", StrictEnv, v, !want)
		}
	}
}

func TestChildWantsMissingTool(t *testing.T) {
	if os.Getenv("TESTTOOL_CHILD") != "1" {
		t.Skip("run by TestWant in a child process")
	}
	if _, ok := Want(t, "no-such-tool-testtool", "apt-get install no-such-tool"); ok {
		t.Fatal("found a tool that does not exist")
	}
	t.Log("REACHED-AFTER-WANT")
}

func TestWant(t *testing.T) {
	run := func(strict string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestChildWantsMissingTool$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTTOOL_CHILD=1", StrictEnv+"="+strict)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- PASS") || !strings.Contains(out, "REACHED-AFTER-WANT") || !strings.Contains(out, "no-such-tool-testtool is missing") {
		t.Fatalf("without %s: want the test to go on and log the missing tool; err %v\n%s", StrictEnv, err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL") || strings.Contains(out, "REACHED-AFTER-WANT") {
		t.Fatalf("with %s=1: want a failure; err %v\n%s", StrictEnv, err, out)
	}
}

func TestShortSkipsEvenStrict(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestChildNeedsMissingTool$", "-test.v", "-test.count=1", "-test.short")
	cmd.Env = append(os.Environ(), "TESTTOOL_CHILD=1", StrictEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "-short") {
		t.Fatalf("-short with %s=1: want a skip; err %v\n%s", StrictEnv, err, out)
	}
}
