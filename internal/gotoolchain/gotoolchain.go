// Package gotoolchain pins the go command that the ops tools run (go build,
// go list, go tool, govulncheck's go list) to the toolchain go.mod asks for,
// so that they work from a plain shell: with GOTOOLCHAIN unset and a
// machine whose go.env says GOTOOLCHAIN=local, the machine's older go would
// refuse the module ("go.mod requires go >= ...").
package gotoolchain

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

var (
	toolchainLine = regexp.MustCompile(`^toolchain\s+(go[0-9][0-9A-Za-z.+-]*)\s*$`)
	goLine        = regexp.MustCompile(`^go\s+([0-9][0-9A-Za-z.]*)\s*$`)
)

// FromGoMod returns the toolchain root/go.mod asks for: its toolchain line,
// else "go" + its go line (go1.27.3).
func FromGoMod(root string) (string, error) {
	path := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the toolchain: %w", err)
	}
	var goVersion string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if m := toolchainLine.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
		if m := goLine.FindStringSubmatch(sc.Text()); m != nil {
			goVersion = "go" + m[1]
		}
	}
	if goVersion == "" {
		return "", fmt.Errorf("%s has neither a go nor a toolchain line", path)
	}
	return goVersion, nil
}

// Pin sets GOTOOLCHAIN in this process's environment, which every go
// command it starts inherits, to what root/go.mod asks for, unless the
// caller set GOTOOLCHAIN (an explicit choice wins). It returns the value in
// force.
func Pin(root string) (string, error) {
	if v := os.Getenv("GOTOOLCHAIN"); v != "" {
		return v, nil
	}
	v, err := FromGoMod(root)
	if err != nil {
		return "", err
	}
	if err := os.Setenv("GOTOOLCHAIN", v); err != nil {
		return "", fmt.Errorf("set GOTOOLCHAIN: %w", err)
	}
	return v, nil
}
