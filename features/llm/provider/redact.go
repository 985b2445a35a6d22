package provider

import (
	"errors"
	"sort"
	"strings"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Redacted replaces a credential in upstream error text.
const Redacted = "[redacted]"

// Redactor keeps a provider's credentials out of the errors it returns: an
// upstream may echo the API key or the Authorization header in its error
// body, and a transport error quotes the request URL (user info, query).
// Those errors reach clients and logs, so adapters pass them through Error.
type Redactor struct {
	baseURL, shown string
	secrets        []string // longest first
}

// NewRedactor builds the redactor of one provider: its base URL (shown as
// config.RedactURL shows it) and its secrets (API key, ...).
func NewRedactor(baseURL string, secrets ...string) *Redactor {
	r := &Redactor{baseURL: baseURL, shown: config.RedactURL(baseURL)}
	for _, s := range append(secrets, config.URLSecrets(baseURL)...) {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// String removes the credentials from s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	if r.baseURL != "" && r.baseURL != r.shown {
		s = strings.ReplaceAll(s, r.baseURL, r.shown)
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	return s
}

// Error returns err with the credentials removed from its text: an *Error
// (copied, its Message redacted, its cause hidden behind the redacted text)
// or any other error (wrapped into one that says only the redacted text).
func (r *Redactor) Error(err error) error {
	if r == nil || err == nil {
		return err
	}
	var pe *Error
	if errors.As(err, &pe) {
		c := *pe
		c.Message = r.String(pe.Message)
		if c.Err != nil {
			c.Err = redactedError{msg: r.String(c.Err.Error()), err: c.Err}
		}
		return &c
	}
	return redactedError{msg: r.String(err.Error()), err: err}
}

// redactedError says only the redacted text and still unwraps to the
// original, so errors.Is/As keep working.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }
