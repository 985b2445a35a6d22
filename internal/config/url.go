package config

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

func setURL(dst *string, v string) error {
	v = strings.TrimSpace(v)
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("want an absolute URL such as http://host:port/path")
	}
	*dst = v
	return nil
}

func setOptionalURL(dst *string, v string) error {
	if strings.TrimSpace(v) == "" {
		*dst = ""
		return nil
	}
	return setURL(dst, v)
}

// RedactURL returns a URL fit to show: without userinfo (user:password@)
// and without query or fragment (tokens travel there). What does not parse
// as a URL is not shown at all.
func RedactURL(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return v
	}
	if !strings.Contains(v, "://") {
		if _, _, err := net.SplitHostPort(v); err == nil && !strings.ContainsAny(v, "@?#") {
			return v // host:port
		}
		return "<redacted>"
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// setAddrOrURL accepts "" (unset), host:port, or an absolute URL.
func setAddrOrURL(dst *string, v string) error {
	v = strings.TrimSpace(v)
	if v == "" || strings.Contains(v, "://") {
		return setOptionalURL(dst, v)
	}
	if err := checkAddr(v); err != nil {
		return err
	}
	*dst = v
	return nil
}
