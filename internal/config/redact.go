package config

import (
	"net/url"
	"strings"
)

// RedactURL is how every URL setting (OPENAI_BASE_URL, ANTHROPIC_BASE_URL,
// QDRANT_URL, REDIS_URL, ...) is shown in answers, phase events, logs and
// errors: without user info, query and fragment, where credentials live
// (user:password@, ?api_key=). Scheme, host, port and path stay, so an
// operator still sees where the service points. A value that does not parse
// as a URL (host:port, garbage) keeps only what follows the last '@', cut
// at the first '?' or '#'.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		u.User = nil
		u.RawQuery, u.ForceQuery = "", false
		u.Fragment, u.RawFragment = "", ""
		return u.String()
	}
	s := raw
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return s
}

// URLSecrets returns the credential parts of a URL setting (user name,
// password and query values, raw and unescaped), for scrubbing text that
// may quote them (an upstream's error, a transport error).
func URLSecrets(raw string) []string {
	var out []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		add(u.User.Username(), pw, u.User.String())
	}
	add(u.RawQuery)
	for _, vs := range u.Query() {
		add(vs...)
	}
	return out
}
