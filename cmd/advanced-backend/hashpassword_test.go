package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordCommand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		pw    string // the password the hash must accept; "" = a failure is wanted
		code  int
	}{
		{"stdin", []string{"--cost", "4"}, "s3cret\n", "s3cret", exitOK},
		{"stdin CRLF", []string{"--cost", "4"}, "s3cret\r\n", "s3cret", exitOK},
		{"stdin without newline", []string{"--cost", "4"}, "s3cret", "s3cret", exitOK},
		{"only the first line", []string{"--cost", "4"}, "first\nsecond\n", "first", exitOK},
		{"flag", []string{"--cost", "4", "--password", "flagpw"}, "", "flagpw", exitOK},
		{"empty", []string{"--cost", "4"}, "\n", "", exitUsage},
		{"too long", []string{"--cost", "4"}, strings.Repeat("p", 73) + "\n", "", exitUsage},
		{"cost too low", []string{"--cost", "3"}, "pw\n", "", exitUsage},
		{"cost too high", []string{"--cost", "15"}, "pw\n", "", exitUsage},
		{"stray argument", []string{"pw"}, "", "", exitUsage},
		{"unknown flag", []string{"--salt", "x"}, "pw\n", "", exitUsage},
	} {
		var out, errOut bytes.Buffer
		code := hashPassword(tc.args, strings.NewReader(tc.stdin), &out, &errOut)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, tc.code, errOut.String())
			continue
		}
		if tc.pw == "" {
			if out.Len() != 0 || errOut.Len() == 0 {
				t.Errorf("%s: out %q err %q", tc.name, out.String(), errOut.String())
			}
			continue
		}
		h := strings.TrimSpace(out.String())
		if err := bcrypt.CompareHashAndPassword([]byte(h), []byte(tc.pw)); err != nil {
			t.Errorf("%s: hash %q does not accept %q: %v", tc.name, h, tc.pw, err)
		}
		if c, _ := bcrypt.Cost([]byte(h)); c != 4 {
			t.Errorf("%s: cost %d", tc.name, c)
		}
	}
}
