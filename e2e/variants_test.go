package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// capsReport is the one report type the service encodes.
type capsReport = capreport.Report

// goVersionModules returns the modules `go version -m` lists for a binary.
func goVersionModules(t *testing.T, bin string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	mods := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && (f[0] == "dep" || f[0] == "=>") {
			mods[f[1]] = f[2]
		}
	}
	return mods
}

// TestVariantsReportWhatTheyLink builds every declared variant, starts it,
// and checks /ml-capabilities against the variant table and against the
// binary's own module list.
func TestVariantsReportWhatTheyLink(t *testing.T) {
	for _, v := range groupspec.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			bin := buildVariant(t, v.Name)
			mods := goVersionModules(t, bin)
			p := startBinary(t, bin)
			var caps capsReport
			if code := p.get(t, "GET", "/ml-capabilities", &caps); code != 200 {
				t.Fatal(code)
			}
			if caps.Variant != v.Name || !caps.Consistency.OK {
				t.Fatalf("variant %q consistency %+v", caps.Variant, caps.Consistency)
			}
			if want := variantTags(t, v.Name); !slices.Equal(caps.BuildTags, want) {
				t.Errorf("build_tags %v, want %v", caps.BuildTags, want)
			}
			if len(caps.Groups) != len(groupspec.Groups()) {
				t.Fatalf("groups: %v", caps.Groups)
			}
			for _, g := range groupspec.Groups() {
				st := caps.Groups[g.Name]
				want := slices.Contains(v.Groups, g.Name)
				if st.Linked != want || st.Enabled != want {
					t.Errorf("group %s: linked=%v enabled=%v, want %v", g.Name, st.Linked, st.Enabled, want)
				}
				for _, m := range g.Exclusive() {
					if _, in := mods[m]; in != want {
						t.Errorf("go version -m: module %s present=%v, group %s linked=%v", m, in, g.Name, want)
					}
				}
				if want {
					if len(st.Modules) != len(g.Modules) {
						t.Errorf("group %s modules %v, want %v", g.Name, st.Modules, g.Modules)
					}
					for _, m := range st.Modules {
						if mods[m.Path] != m.Version {
							t.Errorf("group %s: %s reported %s, go version -m says %q", g.Name, m.Path, m.Version, mods[m.Path])
						}
					}
					for _, k := range g.Heavy {
						if !caps.HeavyDependencies[k] {
							t.Errorf("heavy_dependencies.%s false with %s linked", k, g.Name)
						}
					}
				} else {
					for _, k := range g.Heavy {
						if caps.HeavyDependencies[k] {
							t.Errorf("heavy_dependencies.%s true without %s", k, g.Name)
						}
					}
					var e struct {
						Error struct{ Code, Message string }
					}
					if code := p.get(t, "POST", g.RoutePrefixes[0]+"/anything", &e); code != 501 ||
						!strings.Contains(e.Error.Message, "group "+g.Name) || !strings.Contains(e.Error.Message, v.Name+" variant") {
						t.Errorf("unlinked %s route: %d %+v", g.Name, code, e)
					}
				}
			}
			for _, k := range []string{"tensorflow", "torch", "langchain"} { // no Go counterpart
				if v, ok := caps.HeavyDependencies[k]; !ok || v {
					t.Errorf("heavy_dependencies.%s = %v, %v; want false", k, v, ok)
				}
			}
			if caps.HeavyDependencies["sklearn"] != slices.Contains(v.Groups, "ml") {
				t.Errorf("heavy_dependencies.sklearn = %v with groups %v", caps.HeavyDependencies["sklearn"], v.Groups)
			}
			if caps.IncludeTensorflowFlag != nil || caps.TDigestTrackedEndpoints == nil {
				t.Errorf("include_tensorflow_flag %v (want null), tdigest_tracked_endpoints %v (want a list)", caps.IncludeTensorflowFlag, caps.TDigestTrackedEndpoints)
			}
			wantVersion := "v0.0.0-e2e"
			for _, g := range v.Groups {
				wantVersion += "+" + g
			}
			if caps.Version != wantVersion {
				t.Errorf("version %q, want %q", caps.Version, wantVersion)
			}
			if !strings.Contains(p.Logs(), "HEAVY_DEPENDENCIES_STATUS {") {
				t.Error("no HEAVY_DEPENDENCIES_STATUS line in the log")
			}
			if strings.Contains(p.Logs(), "CAPABILITY MISMATCH") {
				t.Errorf("mismatch logged:\n%s", p.Logs())
			}
			if err := p.Stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, p.Logs())
			}
		})
	}
}

func TestMinimalModeDisablesLinkedGroups(t *testing.T) {
	bin := buildVariant(t, "full")
	p := startBinary(t, bin, "MINIMAL_MODE=1")
	var caps capsReport
	p.get(t, "GET", "/ml-capabilities", &caps)
	if !caps.MinimalMode {
		t.Fatal("minimal_mode false")
	}
	for name, g := range caps.Groups {
		if !g.Linked || g.Enabled || g.Ready {
			t.Errorf("%s: %+v", name, g)
		}
	}
	var h map[string]any
	p.get(t, "GET", "/health", &h)
	if h["minimal"] != true {
		t.Fatalf("health %v", h)
	}
	if code := p.get(t, "POST", "/api/v2/llm/chat", nil); code != 503 {
		t.Fatalf("group route under MINIMAL_MODE: %d", code)
	}
}

func TestSafeModeIsVisible(t *testing.T) {
	bin := buildVariant(t, "lean")
	p := startBinary(t, bin, "SAFE_MODE=on")
	var caps capsReport
	p.get(t, "GET", "/ml-capabilities", &caps)
	var phase, hb map[string]any
	p.get(t, "GET", "/__phase", &phase)
	p.get(t, "GET", "/startup/heartbeat?n=200", &hb)
	if !caps.SafeMode || phase["safe_mode"] != true {
		t.Fatalf("safe mode not reported: caps %v phase %v", caps.SafeMode, phase)
	}
	found := false
	for _, e := range hb["events"].([]any) {
		if strings.Contains(e.(map[string]any)["msg"].(string), "SAFE_MODE active") {
			found = true
		}
	}
	if !found {
		t.Fatalf("heartbeat lacks the SAFE_MODE event: %v", hb["events"])
	}
}

func TestNotdigestBuildReportsFallback(t *testing.T) {
	p := startBinary(t, buildVariant(t, "notdigest"))
	var h map[string]any
	p.get(t, "GET", "/health", &h)
	var caps capsReport
	p.get(t, "GET", "/ml-capabilities", &caps)
	if h["fallback_tdigest"] != true || !caps.TDigestFallback || caps.Variant != "lean" {
		t.Fatalf("health %v caps fallback %v variant %s", h, caps.TDigestFallback, caps.Variant)
	}
	if _, ok := goVersionModules(t, buildVariant(t, "notdigest"))["github.com/caio/go-tdigest/v4"]; ok {
		t.Fatal("notdigest binary links go-tdigest")
	}
	checkLatencyEndpoints(t, p, "reservoir")
}

// TestLeanLatencyEndpoints runs the same latency checks against the
// t-digest build.
func TestLeanLatencyEndpoints(t *testing.T) {
	checkLatencyEndpoints(t, startBinary(t, buildVariant(t, "lean")), "tdigest")
}

// checkLatencyEndpoints drives requests through a running binary and
// checks that the quantiles, the distribution and the reset work with the
// estimator the build carries.
func checkLatencyEndpoints(t *testing.T, p *proc, estimator string) {
	t.Helper()
	for i := 0; i < 40; i++ { // startBinary's own /health probes come on top
		p.get(t, "GET", "/health", nil)
		p.get(t, "GET", fmt.Sprintf("/unknown/%d", i), nil)
	}
	var q struct {
		Estimator struct {
			Name   string `json:"name"`
			Reason string `json:"reason"`
		} `json:"estimator"`
		Routes map[string]map[string]any `json:"routes"`
	}
	if code := p.get(t, "GET", "/api/v2/latency/quantiles?q=0.999", &q); code != 200 {
		t.Fatalf("quantiles: %d", code)
	}
	h := q.Routes["GET /health"]
	if q.Estimator.Name != estimator || h["count"].(float64) < 40 || h["p50"] == nil || h["p99.9"] == nil ||
		h["p50"].(float64) > h["p99"].(float64) || q.Routes["(unmatched)"]["count"] != 40.0 {
		t.Fatalf("quantiles: estimator %+v routes %v", q.Estimator, q.Routes)
	}
	if code := p.get(t, "GET", "/api/v2/latency/quantiles?q=1", nil); code != 400 {
		t.Fatalf("q=1: %d", code)
	}
	var d map[string]any
	if code := p.get(t, "GET", "/api/v2/latency/distribution", &d); code != 200 || d["routes"].(map[string]any)["GET /health"] == nil {
		t.Fatalf("distribution: %d %v", code, d)
	}
	var r map[string]any
	if code := p.get(t, "POST", "/admin/adaptive/reset", &r); code != 200 || r["cleared_routes"].(float64) < 2 {
		t.Fatalf("reset from loopback without a token: %d %v", code, r)
	}
}

func TestSubcommandsAndBadConfig(t *testing.T) {
	bin := buildVariant(t, "hybrid")
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), "v0.0.0-e2e+llm") || !strings.Contains(string(out), "commit:  e2etest") ||
		!strings.Contains(string(out), "variant: hybrid") {
		t.Fatalf("version: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "capabilities").Output()
	if err != nil || !strings.Contains(string(out), `"variant": "hybrid"`) {
		t.Fatalf("capabilities: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"MINIMAL_MODE=bogus"}
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "MINIMAL_MODE") {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
	if err := exec.Command(bin, "frobnicate").Run(); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"serve", "-h"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil || !strings.Contains(string(out), "--addr") || !strings.Contains(string(out), `(env ADDR, default "127.0.0.1:8000")`) {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}

// TestSIGHUPDoesNotKillVariantsWithoutReload: SIGHUP reloads the registry
// file where the optional group runs; elsewhere (lean, MINIMAL_MODE) it
// must not terminate the service.
func TestSIGHUPDoesNotKillVariantsWithoutReload(t *testing.T) {
	for _, tc := range []struct {
		variant string
		env     []string
	}{{"lean", nil}, {"full", []string{"MINIMAL_MODE=1"}}} {
		p := startBinary(t, buildVariant(t, tc.variant), tc.env...)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		// Once the kernel has delivered SIGHUP, a default action would have
		// ended the process: wait for the delivery, not for a while.
		waitfor.True(t, 10*time.Second, "SIGHUP to be delivered", func() bool { return !signalPending(t, p.cmd.Process.Pid, syscall.SIGHUP) })
		if code := p.get(t, "GET", "/health", nil); code != 200 {
			t.Fatalf("%s: /health after SIGHUP: %d", tc.variant, code)
		}
		if err := p.Stop(t); err != nil {
			t.Fatalf("%s: exit after SIGHUP then SIGTERM: %v\n%s", tc.variant, err, p.Logs())
		}
	}
}

// signalPending reports whether sig is still pending for pid (thread or
// process-wide), from /proc/<pid>/status.
func signalPending(t *testing.T, pid int, sig syscall.Signal) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false // gone: nothing pending (the caller's checks see it dead)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "SigPnd" && k != "ShdPnd") {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("%s: %q", k, v)
		}
		if mask&(1<<(uint(sig)-1)) != 0 {
			return true
		}
	}
	return false
}
