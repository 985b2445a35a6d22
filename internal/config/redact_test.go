package config

import (
	"errors"
	"strings"
	"testing"
)

func TestURLSecrets(t *testing.T) {
	sec := URLSecrets("http://us%40er-long:p%3Aw-secret@host/x?key=k1-secret&other=k2-secret&key=k1")
	for _, want := range []string{"us@er-long", "p:w-secret", "us%40er-long:p%3Aw-secret@", "key=k1-secret&other=k2-secret&key=k1",
		"key=k1-secret", "k1-secret", "k2-secret", "key=k1"} {
		found := false
		for _, s := range sec {
			found = found || s == want
		}
		if !found {
			t.Errorf("URLSecrets lacks %q: %q", want, sec)
		}
	}
}

// TestURLSettingErrorsAreRedacted: an invalid value of a URL setting is
// named in the start-up error without its credentials.
func TestURLSettingErrorsAreRedacted(t *testing.T) {
	for _, s := range []Setting{URL("X_BASE_URL", "https://example/v1", ""), URL("X_URL", "", ""), AddrOrURL("X_ADDR", "")} {
		_, err := LoadWith(Options{
			Linked: []GroupSettings{{Group: "x", Settings: []Setting{s}}},
			LookupEnv: func(k string) (string, bool) {
				if k == s.Name {
					return "://user:pass-SECRET@host:notaport/x?key=k-SECRET", true
				}
				return "", false
			},
		})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != s.Name {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error carries a credential: %v", s.Name, err)
		}
	}
}

// TestURLSecretsSkipsPublicAndShortValues: a query value under a
// non-credential name (api-version) or shorter than a few characters is not
// a secret (issue 20 item 9: every "1" of an error text was scrubbed with
// ?api-version=1); credentials of every length above that still are.
func TestURLSecretsSkipsPublicAndShortValues(t *testing.T) {
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	sec := URLSecrets("http://127.0.0.1:8080/v1?api-version=2024-10-21&x=1&key=sk-SECRET-value")
	for _, bad := range []string{"1", "2024-10-21", "api-version=2024-10-21"} {
		if has(sec, bad) {
			t.Errorf("URLSecrets treats %q as a secret: %q", bad, sec)
		}
	}
	for _, want := range []string{"sk-SECRET-value", "key=sk-SECRET-value"} {
		if !has(sec, want) {
			t.Errorf("URLSecrets lacks %q: %q", want, sec)
		}
	}
	if sec := URLSecrets("http://127.0.0.1:8080/v1?api-version=1"); len(sec) != 0 {
		t.Errorf("a URL whose only query is api-version=1 has secrets %q", sec)
	}
	// short parts are kept in the forms that carry their context only
	sec = URLSecrets("http://u:pw@127.0.0.1/?x=1")
	if has(sec, "u") || has(sec, "pw") || has(sec, "1") || !has(sec, "u:pw@") || !has(sec, "x=1") {
		t.Errorf("short parts: %q", sec)
	}
}
