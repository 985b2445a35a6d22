package config

import (
	"errors"
	"strings"
	"testing"
)

func TestURLSecrets(t *testing.T) {
	sec := URLSecrets("http://us%40er:p%3Aw@host/x?key=k1&other=k2")
	for _, want := range []string{"us@er", "p:w", "key=k1&other=k2", "k1", "k2"} {
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
