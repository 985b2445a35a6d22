package config

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"https://api.openai.com/v1":             "https://api.openai.com/v1",
		"http://user:pw@127.0.0.1:8080/v1":      "http://127.0.0.1:8080/v1",
		"http://user@host/v1?key=abc#frag":      "http://host/v1",
		"redis://:s3cret@127.0.0.1:6379/0":      "redis://127.0.0.1:6379/0",
		"grpcs://u:p@qdrant:6334?api_key=k":     "grpcs://qdrant:6334",
		"qdrant:6334":                           "qdrant:6334",
		"u:p@qdrant:6334":                       "qdrant:6334",
		"u:p@qdrant:6334?api_key=k":             "qdrant:6334",
		"http://us%40er:p%3Aw@host:1/x?y=z&a=b": "http://host:1/x",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
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

// TestURLSettingErrorsAreRedacted: an invalid URL setting is named in the
// start-up error without its credentials.
func TestURLSettingErrorsAreRedacted(t *testing.T) {
	for _, env := range []string{"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "QDRANT_URL", "REDIS_URL"} {
		_, err := Load(nil, func(k string) (string, bool) {
			if k == env {
				return "://user:pass-SECRET@host:notaport/x?key=k-SECRET", true
			}
			return "", false
		})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != env {
			t.Fatalf("%s: %v", env, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error carries a credential: %v", env, err)
		}
	}
	for _, v := range Vars() {
		if strings.HasSuffix(v.Env, "_URL") && !v.URL {
			t.Errorf("%s is a URL setting not marked URL (shown unredacted)", v.Env)
		}
	}
}
