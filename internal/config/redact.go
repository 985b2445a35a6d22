package config

import (
	"net/url"
	"strings"
)

// minSecretLen is the shortest text treated as a secret on its own: a
// shorter one ("1", "v2") is not a credential anybody issues, and scrubbing
// it would garble every error that mentions the character (issue 20: with
// ?api-version=1 every "1" of an error became [redacted]).
const minSecretLen = 6

// publicQuery reports whether a query parameter is known to carry no
// credential, whatever its value: API versions and formats that providers
// put in base URLs (Azure OpenAI's api-version). A switch, not a map: a map
// literal is built in package init.
func publicQuery(name string) bool {
	switch strings.ToLower(name) {
	case "api-version", "api_version", "apiversion", "version", "v",
		"format", "region", "deployment", "deployment-id", "deployment_id",
		"model", "timeout", "lang", "locale":
		return true
	}
	return false
}

// URLSecrets returns the credential parts of a URL setting, for scrubbing
// text that may quote them (an upstream's error, a transport error): the
// user information (as written, and each of its parts), and the query (as
// written, each name=value pair, and each value raw and unescaped).
// Parameters known to carry no credential (api-version, ...) are left out,
// and so is a part standing alone (a user name, a password, a value) that is
// shorter than minSecretLen: replacing "1" everywhere garbles the text and
// protects nothing. The forms with their context (u:pw@, key=k1) are kept
// whatever their length.
func URLSecrets(raw string) []string {
	var out []string
	// add takes parts that stand alone; addForm takes the forms that carry
	// their own context (user:password@, name=value), specific enough to
	// scrub whatever their length.
	add := func(vs ...string) {
		for _, v := range vs {
			if len(v) >= minSecretLen {
				out = append(out, v)
			}
		}
	}
	addForm := func(vs ...string) {
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
		add(u.User.Username(), pw)
		addForm(u.User.String()+"@", u.User.String())
	}
	secretQuery := false
	for _, pair := range strings.Split(u.RawQuery, "&") {
		name, val, _ := strings.Cut(pair, "=")
		uname, err1 := url.QueryUnescape(name)
		uval, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			uname, uval = name, val
		}
		if pair == "" || publicQuery(uname) {
			continue
		}
		secretQuery = true
		if val != "" {
			addForm(pair)
		}
		add(val, uval)
	}
	if secretQuery {
		addForm(u.RawQuery)
	}
	return out
}
