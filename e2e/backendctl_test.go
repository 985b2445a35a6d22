package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

var (
	ctlOnce sync.Once
	ctlPath string
	ctlErr  error
)

// backendctl builds cmd/backendctl once per test process.
func backendctl(t *testing.T) string {
	t.Helper()
	ctlOnce.Do(func() {
		ctlPath = filepath.Join(binDir, "backendctl")
		cmd := exec.Command("go", "build", "-o", ctlPath, "./cmd/backendctl")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			ctlErr = fmt.Errorf("build backendctl: %v\n%s", err, out)
		}
	})
	if ctlErr != nil {
		t.Fatal(ctlErr)
	}
	return ctlPath
}

// runCtl runs backendctl in dir with a bound on its run time and returns
// its exit code and combined output.
func runCtl(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(backendctl(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return runExit(t, cmd, 3*time.Minute)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

// TestBackendctlProbe runs probe against real variant binaries: success,
// a variant or group set that differs (3), a binary that cannot start (2),
// and one that never answers /health within the timeout (2).
func TestBackendctlProbe(t *testing.T) {
	lean := buildVariant(t, "lean")
	hybrid := buildVariant(t, "hybrid")
	dir := t.TempDir()
	port := fmt.Sprint(freePort(t))

	code, out := runCtl(t, dir, nil, "probe", "--exe", lean, "--port", port, "--out", "caps/lean.json", "--expect-variant", "lean", "--expect-groups", "", "--quiet")
	if code != 0 {
		t.Fatalf("probe lean: exit %d\n%s", code, out)
	}
	var caps capsReport
	readJSON(t, filepath.Join(dir, "caps", "lean.json"), &caps)
	if caps.Variant != "lean" || caps.HeavyDependencies == nil || !caps.Consistency.OK {
		t.Errorf("captured capabilities: %+v", caps)
	}

	code, out = runCtl(t, dir, nil, "probe", "--exe", hybrid, "--port", port, "--expect-variant", "hybrid", "--expect-groups", "llm", "--out", "hybrid.json")
	if code != 0 || !strings.Contains(out, `"variant":"hybrid"`) {
		t.Fatalf("probe hybrid: exit %d\n%s", code, out)
	}

	for _, args := range [][]string{
		{"--expect-variant", "full"},
		{"--expect-groups", "llm"},
		{"--expect-variant", "no-such-variant"},
	} {
		code, out = runCtl(t, dir, nil, append([]string{"probe", "--exe", lean, "--port", port, "--quiet"}, args...)...)
		if code != 3 || !strings.Contains(out, "capabilities differ") {
			t.Errorf("probe lean %v: exit %d, want 3\n%s", args, code, out)
		}
	}

	// A bad environment value makes the service exit 2 at start: health
	// never comes, and probe says so at once (exit 2), not after its timeout.
	start := time.Now()
	code, out = runCtl(t, dir, []string{"MINIMAL_MODE=bogus"}, "probe", "--exe", lean, "--port", port, "--timeout", "60s")
	if code != 2 || !strings.Contains(out, "MINIMAL_MODE") {
		t.Errorf("probe with MINIMAL_MODE=bogus: exit %d, want 2\n%s", code, out)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("probe waited %s for a process that had exited", el)
	}

	// A process that runs but never serves: exit 2 after --timeout, and
	// the process is stopped.
	script := filepath.Join(dir, "silent.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out = runCtl(t, dir, nil, "probe", "--exe", script, "--port", port, "--timeout", "1s")
	if code != 2 || !strings.Contains(out, "never answered") {
		t.Errorf("probe of a silent process: exit %d, want 2\n%s", code, out)
	}

	// Another service already holds the port: probe refuses before starting
	// the binary (exit 2 naming the port) instead of reporting that
	// service's capabilities as the binary's.
	other := startBinary(t, hybrid)
	otherPort := strings.TrimPrefix(other.Base, "http://127.0.0.1:")
	code, out = runCtl(t, dir, nil, "probe", "--exe", lean, "--port", otherPort, "--expect-variant", "hybrid", "--quiet")
	if code != 2 || !strings.Contains(out, "port already in use") || !strings.Contains(out, "127.0.0.1:"+otherPort) {
		t.Errorf("probe on a taken port: exit %d, want 2 naming the port\n%s", code, out)
	}

	// The binary started is not the process that answers (here a wrapper
	// that runs the service as its child): probe says so (exit 2).
	wrapper := filepath.Join(dir, "wrapper.sh")
	body := "#!/bin/sh\n\"" + lean + "\" \"$@\" &\nchild=$!\ntrap 'kill $child; wait $child; exit 0' TERM INT\nwait $child\n"
	if err := os.WriteFile(wrapper, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out = runCtl(t, dir, nil, "probe", "--exe", wrapper, "--port", port, "--quiet")
	if code != 2 || !strings.Contains(out, "not the process started") {
		t.Errorf("probe of a binary whose port answers from another pid: exit %d, want 2\n%s", code, out)
	}
}

type smokeFile struct {
	Variant  string `json:"variant"`
	Checked  int    `json:"checked"`
	Failed   int    `json:"failed"`
	Failures []struct {
		Name string `json:"name"`
		Path string `json:"path"`
		Got  int    `json:"got_status"`
	} `json:"failures"`
}

// TestBackendctlSmoke replays the smoke set against real binaries: lean
// (every group 501), hybrid (llm mounted), full with MINIMAL_MODE (every
// group 503); then through a loopback proxy that breaks /metrics, where
// smoke must fail and name the case.
func TestBackendctlSmoke(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		variant string
		env     []string
	}{{"lean", nil}, {"hybrid", nil}, {"full", nil}, {"full", []string{"MINIMAL_MODE=1"}}} {
		p := startBinary(t, buildVariant(t, tc.variant), tc.env...)
		out := filepath.Join(dir, tc.variant+".json")
		code, text := runCtl(t, dir, nil, "smoke", "--url", p.Base, "--out", out)
		if code != 0 {
			t.Errorf("smoke %s: exit %d\n%s", tc.variant, code, text)
			continue
		}
		var res smokeFile
		readJSON(t, out, &res)
		if res.Variant != tc.variant || res.Failed != 0 || res.Checked < 13 {
			t.Errorf("smoke %s: %+v", tc.variant, res)
		}
	}

	// With JWT auth on, the group endpoints need a user token: without one
	// smoke fails on them (401), with --token-file it passes.
	const secret = "smoke-secret-0123456789abcdef-0123456789"
	authed := startBinary(t, buildVariant(t, "full"), "JWT_SECRET="+secret)
	out401 := filepath.Join(dir, "noauth.json")
	if code, text := runCtl(t, dir, nil, "smoke", "--url", authed.Base, "--out", out401); code != 1 {
		t.Fatalf("smoke without a token against auth: exit %d, want 1\n%s", code, text)
	}
	var noauth smokeFile
	readJSON(t, out401, &noauth)
	for _, f := range noauth.Failures {
		if f.Got != http.StatusUnauthorized {
			t.Errorf("without a token only 401s should fail: %+v", f)
		}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "smoke", "roles": []string{"user"}, "exp": time.Now().Add(5 * time.Minute).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, text := runCtl(t, dir, nil, "smoke", "--url", authed.Base, "--token-file", tokFile, "--out", filepath.Join(dir, "auth.json")); code != 0 {
		t.Fatalf("smoke with a token: exit %d\n%s", code, text)
	}

	// The real lean binary behind a proxy that answers 500 on /metrics.
	p := startBinary(t, buildVariant(t, "lean"))
	target, _ := url.Parse(p.Base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer broken.Close()
	out := filepath.Join(dir, "broken.json")
	code, text := runCtl(t, dir, nil, "smoke", "--url", broken.URL, "--out", out)
	if code != 1 {
		t.Fatalf("smoke through the broken proxy: exit %d, want 1\n%s", code, text)
	}
	var res smokeFile
	readJSON(t, out, &res)
	if res.Failed != 1 || res.Failures[0].Path != "/metrics" || res.Failures[0].Got != 500 {
		t.Errorf("smoke failures: %+v", res)
	}

	// An unusable target still gets its smoke_failures.json: nothing
	// listening, a server without /ml-capabilities, a binary that cannot
	// start on a taken port.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // a failure name the file must hold
	}{
		{"down", []string{"--url", fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}, 1, "group cases"},
		{"no capabilities", []string{"--url", plain.URL}, 1, "group cases"},
		{"port taken", []string{"--exe", buildVariant(t, "lean"), "--port", strings.TrimPrefix(p.Base, "http://127.0.0.1:")}, 2, "start"},
	} {
		out := filepath.Join(dir, "unusable", tc.name+".json")
		code, text := runCtl(t, dir, nil, append([]string{"smoke", "--out", out}, tc.args...)...)
		if code != tc.code {
			t.Errorf("smoke %s: exit %d, want %d\n%s", tc.name, code, tc.code, text)
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("smoke %s wrote no failures file: %v\n%s", tc.name, err, text)
			continue
		}
		var res smokeFile
		readJSON(t, out, &res)
		names := []string{}
		for _, f := range res.Failures {
			names = append(names, f.Name)
		}
		if res.Failed == 0 || res.Failed != len(res.Failures) || !slices.Contains(names, tc.want) {
			t.Errorf("smoke %s: failures %v, want %q among them", tc.name, names, tc.want)
		}
	}
}

// TestBackendctlLoad drives a short, bounded load against a real lean
// binary on loopback and checks load_test_summary.json; a non-loopback
// target is refused before any request.
func TestBackendctlLoad(t *testing.T) {
	p := startBinary(t, buildVariant(t, "lean"), "SAFE_MODE=1")
	dir := t.TempDir()
	code, out := runCtl(t, dir, nil, "load", "--duration", "2s", "--burst", "500ms", "--concurrency", "2",
		"--rps", "40", "--max-requests", "20000", "--quiet", p.Base+"/health", p.Base+"/startup/heartbeat?n=abc")
	if code != 0 {
		t.Fatalf("load: exit %d\n%s", code, out)
	}
	var sum struct {
		Phases []struct {
			Name     string `json:"name"`
			Requests int    `json:"requests"`
		} `json:"phases"`
		Total struct {
			Requests int `json:"requests"`
		} `json:"total"`
		URLs []struct {
			URL         string         `json:"url"`
			Requests    int            `json:"requests"`
			SuccessRate float64        `json:"success_rate"`
			Classes     map[string]int `json:"status_classes"`
			LatencyMS   struct {
				P50, P95, P99, Max float64
			} `json:"latency_ms"`
		} `json:"urls"`
	}
	readJSON(t, filepath.Join(dir, "load_test_summary.json"), &sum)
	if len(sum.Phases) != 2 || sum.Phases[0].Name != "burst" || sum.Phases[1].Name != "steady" {
		t.Fatalf("phases: %+v", sum.Phases)
	}
	if sum.Total.Requests == 0 || sum.Total.Requests > 20000 {
		t.Errorf("total requests %d, want 1..20000", sum.Total.Requests)
	}
	// The steady phase is paced at 40/s for 1.5 s: far fewer than the burst.
	if s := sum.Phases[1].Requests; s == 0 || s > 80 {
		t.Errorf("steady phase sent %d requests at a 40/s cap over 1.5 s", s)
	}
	if len(sum.URLs) != 2 {
		t.Fatalf("urls: %+v", sum.URLs)
	}
	health, bad := sum.URLs[0], sum.URLs[1]
	if health.SuccessRate != 1 || health.Classes["2xx"] != health.Requests || health.LatencyMS.P50 <= 0 ||
		health.LatencyMS.P50 > health.LatencyMS.P99 || health.LatencyMS.P99 > health.LatencyMS.Max {
		t.Errorf("/health: %+v", health)
	}
	if bad.SuccessRate != 0 || bad.Classes["4xx"] != bad.Requests || bad.Requests == 0 {
		t.Errorf("/startup/heartbeat?n=abc (a 400): %+v", bad)
	}

	code, out = runCtl(t, dir, nil, "load", "--duration", "1s", "--out", "remote.json", "http://192.0.2.1:8070/health")
	if code != 64 || !strings.Contains(out, "not on loopback") {
		t.Errorf("non-loopback target: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "remote.json")); err == nil {
		t.Error("a refused load wrote a summary")
	}

	// No URL: the usage and exit 2, no load against a guessed port.
	code, out = runCtl(t, dir, nil, "load", "--duration", "1s", "--out", "none.json")
	if code != 2 || !strings.Contains(out, "usage: backendctl load") || !strings.Contains(out, "-min-success") {
		t.Errorf("load without a URL: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.json")); err == nil {
		t.Error("load without a URL wrote a summary")
	}
}

// TestBackendctlLoadSeparatesRefusals: against the rate limiter (on by
// default), the 429s are counted per status code and their latency kept
// apart from the 200s'; --min-success fails the run below it; with the
// limiter off (BUILD.md's example) every request succeeds.
func TestBackendctlLoadSeparatesRefusals(t *testing.T) {
	limited := startBinary(t, buildVariant(t, "lean"), "RATE_LIMIT_RPS=5", "RATE_LIMIT_BURST=5")
	dir := t.TempDir()
	args := []string{"load", "--duration", "1s", "--burst", "500ms", "--concurrency", "2", "--rps", "40", "--quiet"}
	code, out := runCtl(t, dir, nil, append(args, "--min-success", "0.99", limited.Base+"/ml-capabilities")...)
	if code != 1 || !strings.Contains(out, "below --min-success") || !strings.Contains(out, "/ml-capabilities") {
		t.Errorf("load under the limiter with --min-success 0.99: exit %d\n%s", code, out)
	}
	type quantiles struct{ P50, P99, Max float64 }
	var sum struct {
		URLs []struct {
			Requests    int                  `json:"requests"`
			SuccessRate float64              `json:"success_rate"`
			Codes       map[string]int       `json:"status_codes"`
			LatencyMS   quantiles            `json:"latency_ms"`
			ByClass     map[string]quantiles `json:"latency_ms_by_class"`
		} `json:"urls"`
		Total struct {
			Codes map[string]int `json:"status_codes"`
		} `json:"total"`
	}
	readJSON(t, filepath.Join(dir, "load_test_summary.json"), &sum)
	u := sum.URLs[0]
	if u.Codes["200"] == 0 || u.Codes["429"] == 0 || u.Codes["200"]+u.Codes["429"] != u.Requests || sum.Total.Codes["429"] != u.Codes["429"] {
		t.Fatalf("status codes: %+v", u)
	}
	if u.LatencyMS != u.ByClass["2xx"] || u.ByClass["4xx"].Max == 0 {
		t.Errorf("latency_ms must be the 2xx answers' alone: %+v by class %+v", u.LatencyMS, u.ByClass)
	}

	open := startBinary(t, buildVariant(t, "lean"), "RATE_LIMIT_RPS=0")
	code, out = runCtl(t, dir, nil, append(args, "--min-success", "1", "--out", "open.json", open.Base+"/health", open.Base+"/ml-capabilities")...)
	if code != 0 {
		t.Errorf("load with the limiter off: exit %d\n%s", code, out)
	}
}

// TestBackendctlSizes measures lean and lean+ml with real builds and
// starts: sizes, modules, start time and RSS are filled, the group's cost
// is the difference, a second run comes from the cache, and a budget that
// lean exceeds fails the run.
func TestBackendctlSizes(t *testing.T) {
	dir := t.TempDir()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	budget := filepath.Join(dir, "budget.json")
	if err := os.WriteFile(budget, []byte(`{"lean": 1000, "lean+ml": 1000000000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"sizes", "--root", root, "--cache", filepath.Join(dir, "cache"), "--only", "lean,lean+ml",
		"--runs", "2", "--idle", "100ms", "--json"}
	type report struct {
		Rows []struct {
			Name        string  `json:"name"`
			Bytes       int64   `json:"bytes"`
			DeltaVsLean int64   `json:"delta_vs_lean"`
			Modules     int     `json:"modules"`
			StartupMS   float64 `json:"startup_ms_median"`
			RSS         int64   `json:"idle_rss_kib_median"`
			Cached      bool    `json:"cached"`
		} `json:"builds"`
		Groups []struct {
			Group    string `json:"group"`
			OverLean int64  `json:"bytes_over_lean"`
		} `json:"groups"`
	}
	decode := func(out string) report {
		t.Helper()
		var r report
		if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:strings.LastIndex(out, "}")+1]), &r) != nil {
			t.Fatalf("sizes --json output:\n%s", out)
		}
		return r
	}
	code, out := runCtl(t, dir, nil, args...)
	if code != 0 {
		t.Fatalf("sizes: exit %d\n%s", code, out)
	}
	r := decode(out)
	if len(r.Rows) != 2 || r.Rows[0].Name != "lean" || r.Rows[1].Name != "lean+ml" {
		t.Fatalf("rows: %+v", r.Rows)
	}
	lean, ml := r.Rows[0], r.Rows[1]
	for _, row := range r.Rows {
		if row.Bytes < 1<<20 || row.Modules == 0 || row.StartupMS <= 0 || row.RSS <= 0 {
			t.Errorf("row not measured: %+v", row)
		}
	}
	if ml.Modules <= lean.Modules || ml.DeltaVsLean != ml.Bytes-lean.Bytes {
		t.Errorf("lean+ml vs lean: %+v %+v", ml, lean)
	}
	if len(r.Groups) != 1 || r.Groups[0].Group != "ml" || r.Groups[0].OverLean != ml.Bytes-lean.Bytes {
		t.Errorf("group cost: %+v", r.Groups)
	}

	code, out = runCtl(t, dir, nil, append(args, "--runs", "1", "--budget", budget)...)
	if code != 1 || !strings.Contains(out, "lean is") || !strings.Contains(out, "over its budget of 1000") {
		t.Errorf("over budget: exit %d\n%s", code, out)
	}
	if r2 := decode(out); !r2.Rows[0].Cached || r2.Rows[0].Bytes != lean.Bytes {
		t.Errorf("second run not from the cache: %+v", r2.Rows[0])
	}
}

// TestBackendctlScan runs the license inventory and govulncheck for lean,
// offline against the pinned vulndb module, and checks the reports; with
// --fail-on-high the exit code follows the reachable findings.
func TestBackendctlScan(t *testing.T) {
	dir := t.TempDir()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	// from a plain shell: no GOTOOLCHAIN (nor the GOROOT go test sets);
	// backendctl hands go.mod's toolchain to the go commands it runs
	cmd := exec.Command(backendctl(t), "scan", "--root", root, "--variant", "lean", "--out", "reports", "--fail-on-high")
	cmd.Dir = dir
	cmd.Env = plainShellEnv()
	code, out := runExit(t, cmd, 3*time.Minute)
	var vulns struct {
		Database  string `json:"database"`
		Reachable int    `json:"reachable"`
		Variants  map[string][]struct {
			ID    string `json:"id"`
			Level string `json:"level"`
		} `json:"variants"`
	}
	readJSON(t, filepath.Join(dir, "reports", "vulns.json"), &vulns)
	if !strings.HasPrefix(vulns.Database, "file://") || !strings.Contains(vulns.Database, "golang.org/x/vulndb@") {
		t.Errorf("database %q is not the pinned offline copy", vulns.Database)
	}
	findings, ok := vulns.Variants["lean"]
	if !ok {
		t.Fatalf("vulns.json has no lean entry:\n%s", out)
	}
	reachable := 0
	for _, f := range findings {
		if !strings.HasPrefix(f.ID, "GO-") || (f.Level != "called" && f.Level != "imported" && f.Level != "required") {
			t.Errorf("finding %+v", f)
		}
		if f.Level == "called" {
			reachable++
		}
	}
	if reachable != vulns.Reachable || (code == 1) != (reachable > 0) || (code != 0 && code != 1) {
		t.Errorf("exit %d with %d reachable findings (report says %d)\n%s", code, reachable, vulns.Reachable, out)
	}

	var lic struct {
		Variants map[string][]struct {
			Module  string `json:"module"`
			License string `json:"license"`
		} `json:"variants"`
		Unknown []string `json:"unknown_licenses"`
	}
	readJSON(t, filepath.Join(dir, "reports", "licenses.json"), &lic)
	got := map[string]string{}
	for _, m := range lic.Variants["lean"] {
		got[m.Module] = m.License
	}
	if got["github.com/gin-gonic/gin"] != "MIT" || got["github.com/advanced-backend/advanced-backend"] != "MIT" ||
		got["github.com/prometheus/client_golang"] != "Apache-2.0" {
		t.Errorf("licenses: %v", got)
	}
	if _, linked := got["gonum.org/v1/gonum"]; linked {
		t.Error("lean's inventory lists gonum, a module only ml links")
	}
	if len(lic.Unknown) != 0 {
		t.Errorf("modules without a recognised license: %v", lic.Unknown)
	}
}

// TestBackendctlLinksNoGroup keeps the ops tool light: none of the group
// packages and none of the modules only a group brings, on any OS. It links
// the groups' descriptions (features/groupdesc, for its smoke cases), which
// import nothing but the standard library and the table.
func TestBackendctlLinksNoGroup(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./features/groupdesc")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list groupdesc: %v", err)
	}
	if deps := strings.Fields(string(out)); !slices.Equal(deps, []string{groupspec.ModulePath + "/internal/groupspec", groupspec.ModulePath + "/features/groupdesc"}) {
		t.Errorf("the descriptions link more than the standard library and the table: %v", deps)
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/backendctl")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list (%s): %v", goos, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.Contains(pkg, "/advanced-backend/features") && pkg != groupspec.ModulePath+"/features/groupdesc" {
				t.Errorf("%s: backendctl links %s", goos, pkg)
			}
			for _, g := range groupspec.Groups() {
				for _, m := range g.Exclusive() {
					if pkg == m || strings.HasPrefix(pkg, m+"/") {
						t.Errorf("%s: backendctl links %s (module of group %s)", goos, pkg, g.Name)
					}
				}
			}
		}
	}
}

// plainShellEnv is this process's environment as a new user's shell has it:
// without GOTOOLCHAIN, and without what the go command adds for the tests
// (GOROOT, and its toolchain's bin directory at the head of PATH), so a go
// found on PATH is the machine's own.
func plainShellEnv() []string {
	goBin := filepath.Join(runtime.GOROOT(), "bin")
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOTOOLCHAIN=") || strings.HasPrefix(kv, "GOROOT=") || strings.HasPrefix(kv, "PATH=")
	})
	path := slices.DeleteFunc(filepath.SplitList(os.Getenv("PATH")), func(dir string) bool { return dir == goBin })
	return append(env, "PATH="+strings.Join(path, string(filepath.ListSeparator)))
}
