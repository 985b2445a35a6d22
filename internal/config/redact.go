package config

import "net/url"

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
