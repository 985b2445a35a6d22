// Package check tests the deploy kit in deploy/: the Kubernetes manifests
// decode strictly into the Kubernetes API types (an unknown or misspelt
// field, or a duplicate key, fails), and the manifests, the systemd unit and
// the nginx file agree with the service's settings and with each other. It
// is a module of its own so that the Kubernetes API modules never enter the
// service's go.mod; `make test-deploy` (part of `make test`) runs it.
package check

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const (
	root       = "../.."
	k8sDir     = "../k8s"
	unitFile   = "../systemd/advanced-backend@.service"
	nginxFile  = "../nginx/advanced-backend.conf"
	graceSlack = 5 * time.Second // between SHUTDOWN_TIMEOUT and the orchestrator's SIGKILL
)

// decodeStrict decodes one manifest into its API type: unknown fields and
// duplicate keys are errors, and apiVersion/kind must be the type's.
func decodeStrict(b []byte, obj any, apiVersion, kind string) error {
	if err := yaml.UnmarshalStrict(b, obj); err != nil {
		return err
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(b, &tm); err != nil {
		return err
	}
	if tm.APIVersion != apiVersion || tm.Kind != kind {
		return fmt.Errorf("apiVersion/kind %s/%s, want %s/%s", tm.APIVersion, tm.Kind, apiVersion, kind)
	}
	return nil
}

type manifests struct {
	dep *appsv1.Deployment
	svc *corev1.Service
	pdb *policyv1.PodDisruptionBudget
}

// load decodes every file in deploy/k8s; a file of a kind this test does
// not know fails (so nothing in the kit goes unchecked).
func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(b, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch tm.Kind {
		case "Deployment":
			m.dep = &appsv1.Deployment{}
			err = decodeStrict(b, m.dep, "apps/v1", "Deployment")
		case "Service":
			m.svc = &corev1.Service{}
			err = decodeStrict(b, m.svc, "v1", "Service")
		case "PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			err = decodeStrict(b, m.pdb, "policy/v1", "PodDisruptionBudget")
		default:
			t.Fatalf("%s: kind %q is not checked by this test", f, tm.Kind)
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if m.dep == nil || m.svc == nil || m.pdb == nil {
		t.Fatalf("deploy/k8s needs a Deployment, a Service and a PodDisruptionBudget: %+v", m)
	}
	return m
}

// TestStrictDecodingCatchesMistakes: the decoding the other tests rely on
// refuses a misspelt field and a duplicate key, which a lenient decoder
// would drop silently.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(k8sDir, "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(b)
	for name, bad := range map[string]string{
		"misspelt field": strings.Replace(good, "terminationGracePeriodSeconds:", "terminationGracePeriod:", 1),
		"duplicate key":  strings.Replace(good, "  replicas: 3\n", "  replicas: 3\n  replicas: 2\n", 1),
		"wrong kind":     strings.Replace(good, "kind: Deployment", "kind: StatefulSet", 1),
	} {
		if bad == good {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if err := decodeStrict([]byte(bad), &appsv1.Deployment{}, "apps/v1", "Deployment"); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

func envOf(t *testing.T, c corev1.Container) map[string]corev1.EnvVar {
	t.Helper()
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := m[e.Name]; dup {
			t.Errorf("env %s given twice", e.Name)
		}
		m[e.Name] = e
	}
	return m
}

// duration parses a setting's value the way the service does (a Go
// duration), within the bounds the service declares for these settings.
func duration(t *testing.T, name, v string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Hour {
		t.Fatalf("%s=%q: not a Go duration between 0 and 1h", name, v)
	}
	return d
}

// documentedSettings are the variables README.md's settings tables name
// (kept equal to the settings' declarations by the service's own tests).
func documentedSettings(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, x := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		m[x[1]] = true
	}
	if !m["SHUTDOWN_TIMEOUT"] || !m["SHUTDOWN_DRAIN"] {
		t.Fatalf("README.md's settings table lacks SHUTDOWN_TIMEOUT or SHUTDOWN_DRAIN (%d names read)", len(m))
	}
	return m
}

// idleRSS reads a variant's idle RSS (MiB) from BUILD.md's sizes table.
func idleRSS(t *testing.T, variant string) float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "BUILD.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\| ` + variant + ` \|.*\| ([0-9.]+) \|$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("BUILD.md has no sizes row for %s", variant)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestDeploymentAgreesWithTheService: probes on the service's endpoints
// and port, the grace period and the drain against SHUTDOWN_DRAIN and
// SHUTDOWN_TIMEOUT, one vector directory per pod, selectors that select,
// resources from BUILD.md's measurements, and only settings the service has.
func TestDeploymentAgreesWithTheService(t *testing.T) {
	m := load(t)
	spec := m.dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	env := envOf(t, c)
	known := documentedSettings(t)
	for name := range env {
		if !known[name] {
			t.Errorf("env %s is not a setting of the service (README.md's settings table)", name)
		}
	}

	// Image: the tag `make image` gives (scripts/image.sh): the version
	// without its v, then the variant; one with the vector group, since the
	// Deployment sets VECTOR_DATA_DIR and REDIS_URL.
	vb, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimPrefix(strings.TrimSpace(string(vb)), "v")
	if want := []string{"advanced-backend:" + version + "-prodapi", "advanced-backend:" + version + "-full"}; !slices.Contains(want, c.Image) {
		t.Errorf("image %q: want one of %v (the tags make image gives)", c.Image, want)
	}

	// Port: ADDR's port is the container port the probes and the Service use.
	_, port, ok := strings.Cut(env["ADDR"].Value, ":")
	if !ok || len(c.Ports) != 1 || strconv.Itoa(int(c.Ports[0].ContainerPort)) != port {
		t.Fatalf("ADDR %q and container ports %+v disagree", env["ADDR"].Value, c.Ports)
	}
	portName := c.Ports[0].Name
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != portName {
			t.Errorf("%s probe: want GET %s on port %s, got %+v", what, path, portName, p)
		}
	}
	probe("startup", c.StartupProbe, "/health")
	probe("liveness", c.LivenessProbe, "/health")
	probe("readiness", c.ReadinessProbe, "/ready")
	if r := env["REPLICA_ID"]; r.ValueFrom == nil || r.ValueFrom.FieldRef == nil || r.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("REPLICA_ID must be unique per pod (the pod name): %+v", r)
	}

	// Shutdown: drain < timeout (the service refuses otherwise); the
	// kubelet's SIGKILL after the whole shutdown (preStop time counts
	// against the grace period too); the readiness probe fails within the
	// drain (the endpoint is removed on deletion anyway).
	drain := duration(t, "SHUTDOWN_DRAIN", env["SHUTDOWN_DRAIN"].Value)
	timeout := duration(t, "SHUTDOWN_TIMEOUT", env["SHUTDOWN_TIMEOUT"].Value)
	if drain <= 0 || drain >= timeout {
		t.Errorf("SHUTDOWN_DRAIN %s must be positive and shorter than SHUTDOWN_TIMEOUT %s", drain, timeout)
	}
	var preStop time.Duration
	if h := c.Lifecycle; h != nil && h.PreStop != nil {
		if h.PreStop.Sleep == nil {
			t.Errorf("preStop other than sleep: the image has no shell")
		} else {
			preStop = time.Duration(h.PreStop.Sleep.Seconds) * time.Second
		}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds unset (default 30s): state it")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if grace < preStop+timeout+graceSlack {
		t.Errorf("terminationGracePeriodSeconds %s < preStop %s + SHUTDOWN_TIMEOUT %s + %s", grace, preStop, timeout, graceSlack)
	}
	rp := c.ReadinessProbe
	if notice := time.Duration(rp.PeriodSeconds*rp.FailureThreshold+rp.TimeoutSeconds) * time.Second; notice > drain+preStop {
		t.Errorf("readiness notices a drain after up to %s, longer than SHUTDOWN_DRAIN %s", notice, drain)
	}

	// One embedded vector directory per pod: VECTOR_DATA_DIR on an emptyDir.
	dir := env["VECTOR_DATA_DIR"].Value
	var vol string
	for _, vm := range c.VolumeMounts {
		if strings.HasPrefix(dir, vm.MountPath+"/") {
			vol = vm.Name
		}
	}
	perPod := false
	for _, v := range spec.Volumes {
		if v.Name == vol && v.EmptyDir != nil {
			perPod = true
		}
	}
	if dir == "" || !perPod {
		t.Errorf("VECTOR_DATA_DIR %q must lie on a volume of each pod's own (emptyDir), never a shared claim", dir)
	}

	// Selectors.
	podLabels := labels.Set(m.dep.Spec.Template.Labels)
	for what, sel := range map[string]*metav1.LabelSelector{"Deployment": m.dep.Spec.Selector, "PodDisruptionBudget": m.pdb.Spec.Selector} {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(podLabels) {
			t.Errorf("%s selector %v does not select the pods (%v): %v", what, sel, podLabels, err)
		}
	}
	if s := labels.SelectorFromSet(m.svc.Spec.Selector); len(m.svc.Spec.Selector) == 0 || !s.Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods", m.svc.Spec.Selector)
	}
	if len(m.svc.Spec.Ports) != 1 || m.svc.Spec.Ports[0].TargetPort.String() != portName {
		t.Errorf("Service ports %+v: want targetPort %s", m.svc.Spec.Ports, portName)
	}
	if r := m.dep.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("replicas %v: a PodDisruptionBudget needs at least 2", r)
	}
	if mu := m.pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", mu)
	}

	// Resources: the request covers the measured idle RSS twice over, the
	// limit the 100 MB bound of 1,000 concurrent streams (BUILD.md).
	idle := idleRSS(t, "prodapi")
	req, lim := c.Resources.Requests[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceMemory]
	if req.IsZero() || float64(req.Value()) < 2*idle*(1<<20) {
		t.Errorf("memory request %s < 2 x prodapi's idle RSS %.1f MiB (BUILD.md)", req.String(), idle)
	}
	if lim.IsZero() || lim.Cmp(resource.MustParse("100M")) < 0 || lim.Cmp(req) < 0 {
		t.Errorf("memory limit %s below the 100 MB the stream test bounds, or below the request", lim.String())
	}
	if _, cpuLimit := c.Resources.Limits[corev1.ResourceCPU]; cpuLimit {
		t.Errorf("a CPU limit throttles latency; request CPU only")
	}
	t.Logf("drain %s, timeout %s, grace %s; memory request %s limit %s (prodapi idle RSS %.1f MiB)", drain, timeout, grace, req.String(), lim.String(), idle)
}

// unitSettings reads the Environment= settings and one key of the unit.
func unitSettings(t *testing.T) (string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Environment="); ok {
			k, val, _ := strings.Cut(v, "=")
			env[k] = val
		}
		if v, ok := strings.CutPrefix(l, "TimeoutStopSec="); ok {
			env["(TimeoutStopSec)"] = v
		}
	}
	return string(b), env
}

// needTool finds an external tool or skips naming it; under TEST_STRICT=1
// (make test, CI) the absence is a failure, as internal/testkit/testtool does it
// for the service's module (this module cannot import that package).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found (it comes with systemd: apt-get install systemd, or scripts/test-deps.sh as root); the unit is not verified", name)
		switch strings.ToLower(strings.TrimSpace(os.Getenv("TEST_STRICT"))) {
		case "1", "true", "on", "yes":
			t.Fatal(msg + " [TEST_STRICT=1: a missing tool is a failure]")
		}
		t.Skip(msg)
	}
	return p
}

// TestSystemdUnit: systemd-analyze verify accepts the unit as written (its
// ExecStart pointed at an executable that exists here: this test's binary),
// with no warning; its values agree with the settings and the other pieces
// of the kit (the same drain and timeout as the Deployment, a stop timeout
// beyond SHUTDOWN_TIMEOUT, nginx's keepalive_timeout below the drain).
func TestSystemdUnit(t *testing.T) {
	text, env := unitSettings(t)
	known := documentedSettings(t)
	for name := range env {
		if !strings.HasPrefix(name, "(") && !known[name] {
			t.Errorf("Environment=%s is not a setting of the service", name)
		}
	}
	drain := duration(t, "SHUTDOWN_DRAIN", env["SHUTDOWN_DRAIN"])
	timeout := duration(t, "SHUTDOWN_TIMEOUT", env["SHUTDOWN_TIMEOUT"])
	stop := duration(t, "TimeoutStopSec", env["(TimeoutStopSec)"])
	if drain <= 0 || drain >= timeout || stop < timeout+graceSlack {
		t.Errorf("unit: drain %s, timeout %s, TimeoutStopSec %s: want 0 < drain < timeout, stop >= timeout + %s", drain, timeout, stop, graceSlack)
	}
	if !strings.Contains(env["VECTOR_DATA_DIR"], "%i") || !strings.Contains(env["ADDR"], "%i") || !strings.Contains(env["REPLICA_ID"], "%i") {
		t.Errorf("each instance needs its own port, replica id and vector directory (%%i): %v", env)
	}
	m := load(t)
	kenv := envOf(t, m.dep.Spec.Template.Spec.Containers[0])
	if kenv["SHUTDOWN_DRAIN"].Value != env["SHUTDOWN_DRAIN"] || kenv["SHUTDOWN_TIMEOUT"].Value != env["SHUTDOWN_TIMEOUT"] {
		t.Errorf("systemd and Kubernetes disagree on SHUTDOWN_DRAIN/SHUTDOWN_TIMEOUT")
	}
	ng, err := os.ReadFile(nginxFile)
	if err != nil {
		t.Fatal(err)
	}
	ka := regexp.MustCompile(`(?m)^\s*keepalive_timeout (\d+)s;`).FindSubmatch(ng)
	if ka == nil {
		t.Fatalf("%s: no upstream keepalive_timeout", nginxFile)
	}
	if n, _ := strconv.Atoi(string(ka[1])); time.Duration(n)*time.Second >= drain {
		t.Errorf("nginx keepalive_timeout %ss must be shorter than SHUTDOWN_DRAIN %s (idle connections gone before the listener closes)", ka[1], drain)
	}

	sa := needTool(t, "systemd-analyze")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if !strings.Contains(text, "ExecStart=/usr/local/bin/advanced-backend serve") {
		t.Fatal("unit: ExecStart changed; update this test's substitution")
	}
	unit := strings.Replace(text, "ExecStart=/usr/local/bin/advanced-backend", "ExecStart="+self, 1)
	if err := os.WriteFile(filepath.Join(dir, "advanced-backend@.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, "advanced-backend@8001.service")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check can fail: a misspelt key is a warning it reports.
	bad := strings.Replace(unit, "TimeoutStopSec=", "TimeoutStopSecs=", 1)
	if err := os.WriteFile(filepath.Join(dir, "advanced-backend@.service"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, "advanced-backend@8001.service")).CombinedOutput(); !strings.Contains(string(out), "TimeoutStopSecs") {
		t.Fatalf("systemd-analyze verify did not report a misspelt key: %s", out)
	}
}
