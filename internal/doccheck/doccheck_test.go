package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

// markdownFiles lists the repository's .md files (relative to root),
// leaving out installed packages and build output.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "dist", "build-reports":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	return files
}

var (
	fence      = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	// [text](target) and ![alt](target); target up to a space or ')'
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*(\S+)`)
	htmlLink   = regexp.MustCompile(`(?i)(?:href|src)="([^"]+)"`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	// a path that climbs out of the directory it is written in
	upPath = regexp.MustCompile(`(?:^|[\s(\x60"'])((?:\.\./)+[A-Za-z0-9_.\-/]*)`)
)

// slug is GitHub's anchor of a heading: lower case, punctuation other than
// '-' and '_' dropped, spaces to '-'.
func slug(h string) string {
	h = strings.ToLower(inlineCode.ReplaceAllStringFunc(h, func(s string) string { return strings.Trim(s, "`") }))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(string(data), ""), -1) {
		s := slug(m[1])
		for i := 1; out[s]; i++ { // GitHub numbers repeated headings
			s = slug(m[1]) + "-" + string(rune('0'+i))
		}
		out[s] = true
	}
	return out
}

// inside reports whether path (relative to root, cleaned) stays in the
// repository.
func inside(path string) bool {
	return path != ".." && !strings.HasPrefix(path, "../") && !filepath.IsAbs(path)
}

// TestRelativeLinksResolveInsideRepo: every relative link of every .md
// file names a file or directory of the repository (and, with #anchor, a
// heading of that document); a link with a scheme (https:, mailto:) is
// left alone. A path that leads outside the repository, link or not
// (`../shared/DESIGN.md`), is an error: a clone has nothing there.
func TestRelativeLinksResolveInsideRepo(t *testing.T) {
	checked := 0
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		dir := filepath.Dir(file)
		// any path climbing out of the repository, in prose or code
		for _, m := range upPath.FindAllStringSubmatch(text, -1) {
			if p := filepath.Clean(filepath.Join(dir, m[1])); !inside(p) {
				t.Errorf("%s: %q points outside the repository", file, m[1])
			}
		}
		prose := inlineCode.ReplaceAllString(fence.ReplaceAllString(text, ""), "")
		var targets []string
		for _, re := range []*regexp.Regexp{inlineLink, refLink, htmlLink} {
			for _, m := range re.FindAllStringSubmatch(prose, -1) {
				targets = append(targets, m[1])
			}
		}
		for _, target := range targets {
			if regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(target) {
				continue // https:, mailto:
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Clean(filepath.Join(dir, path))
				if !inside(resolved) {
					t.Errorf("%s: link %q leads outside the repository", file, target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, resolved)); err != nil {
					t.Errorf("%s: link %q: %s does not exist", file, target, resolved)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(resolved, ".md") && !anchors(t, resolved)[anchor] {
				t.Errorf("%s: link %q: %s has no heading #%s", file, target, resolved, anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link found: the scan is broken")
	}
}

// The checker itself: a link outside, a missing file and a missing anchor
// are found; a good link and an https link are not.
func TestCheckerFindsBadLinks(t *testing.T) {
	text := "see [d](../shared/DESIGN.md), `../shared/x`, [ok](README.md#quick-start), [web](https://x.org/a)"
	var outside []string
	for _, m := range upPath.FindAllStringSubmatch(text, -1) {
		if !inside(filepath.Clean(m[1])) {
			outside = append(outside, m[1])
		}
	}
	if len(outside) != 2 {
		t.Errorf("paths outside: %v, want 2", outside)
	}
	if got := inlineLink.FindAllStringSubmatch(text, -1); len(got) != 3 {
		t.Errorf("links: %v", got)
	}
	if !anchors(t, "README.md")["quick-start"] || anchors(t, "README.md")["no-such-heading"] {
		t.Error("README.md's anchors are not read right")
	}
	if s := slug("OpenAI-compatible gateway (`/v1`)"); s != "openai-compatible-gateway-v1" {
		t.Errorf("slug: %q", s)
	}
}

// TestImageWorkdirClaim: what README says of the image's working directory
// (where the embedded vector index lands) is the Dockerfile's WORKDIR.
func TestImageWorkdirClaim(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^WORKDIR\s+(\S+)`).FindStringSubmatch(string(df))
	if m == nil {
		t.Fatal("the Dockerfile has no WORKDIR")
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	claims := regexp.MustCompile("working directory is `([^`]+)`").FindAllStringSubmatch(string(readme), -1)
	if len(claims) == 0 {
		t.Fatal("README.md no longer says where the image's working directory is")
	}
	for _, c := range claims {
		if c[1] != m[1] {
			t.Errorf("README.md says the working directory is %s; the Dockerfile's WORKDIR is %s", c[1], m[1])
		}
	}
	if want := m[1] + "/data/vector"; !strings.Contains(string(readme), "`"+want+"`") {
		t.Errorf("README.md does not say the embedded index lands in %s", want)
	}
}
