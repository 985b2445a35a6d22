package config

import (
	"errors"
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
