package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

var envInHelp = regexp.MustCompile(`\(env ([A-Z0-9_]+),`)

// helpSections splits --help into its sections ("core", "group llm", ...)
// and the setting names each lists.
func helpSections(t *testing.T, bin string) (map[string][]string, string) {
	t.Helper()
	out, err := exec.Command(bin, "--help").Output() // exit 0 or err
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", bin, err, out)
	}
	sections := map[string][]string{}
	cur := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case line == "core:":
			cur = "core"
		case strings.HasPrefix(line, "group ") && strings.HasSuffix(line, ":"):
			cur = strings.TrimSuffix(line, ":")
		case cur != "":
			if m := envInHelp.FindStringSubmatch(line); m != nil {
				sections[cur] = append(sections[cur], m[1])
			}
		}
	}
	return sections, string(out)
}

// TestHelpListsSettingsByGroup: --help exits 0 and lists core's settings,
// then each linked group's (each within the group's prefixes from the
// table, none of them core's), then one line per unlinked group naming
// what brings it.
func TestHelpListsSettingsByGroup(t *testing.T) {
	full, _ := helpSections(t, buildVariant(t, "full"))
	if len(full["core"]) < 20 {
		t.Fatalf("core section: %v", full["core"])
	}
	for _, name := range full["core"] {
		if g, ok := groupspec.GroupForSetting(name); ok {
			t.Errorf("core setting %s carries a prefix of group %s", name, g.Name)
		}
	}
	for _, g := range groupspec.Groups() {
		names := full["group "+g.Name]
		if len(names) == 0 {
			t.Errorf("full --help lists no settings of group %s", g.Name)
		}
		for _, n := range names {
			if !g.OwnsSetting(n) {
				t.Errorf("group %s declares %s outside its prefixes %v", g.Name, n, g.SettingPrefixes)
			}
		}
	}
	lean, out := helpSections(t, buildVariant(t, "lean"))
	if !slices.Equal(lean["core"], full["core"]) || len(lean) != 1 {
		t.Fatalf("lean sections %v", lean)
	}
	for _, g := range groupspec.Groups() {
		if !strings.Contains(out, "group "+g.Name+": not linked into this binary; its settings ("+strings.Join(g.SettingPrefixes, "*, ")+"*) come with "+groupspec.HowToLink(g.Name)) {
			t.Errorf("lean --help has no line for group %s:\n%s", g.Name, out)
		}
	}
	if o, err := exec.Command(buildVariant(t, "lean"), "serve", "-h").Output(); err != nil || !strings.Contains(string(o), "core:") {
		t.Fatalf("serve -h: %v", err)
	}
}

// TestNoGroupSettingInCore: the names of the groups' settings appear in
// internal/ and cmd/ only in comments and tests; each group declares its
// own beside its code.
func TestNoGroupSettingInCore(t *testing.T) {
	full, _ := helpSections(t, buildVariant(t, "full"))
	var names []string
	for sec, n := range full {
		if sec != "core" {
			names = append(names, n...)
		}
	}
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if code, _, _ := strings.Cut(line, "//"); strings.Contains(code, `"`) {
					for _, n := range names {
						if strings.Contains(code, n) {
							t.Errorf("%s:%d names group setting %s", path, i+1, n)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
