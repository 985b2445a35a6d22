package provider

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Redacted replaces a credential in upstream error text.
const Redacted = "[redacted]"

// MaxMessage bounds an upstream message relayed to a client, counted after
// the credentials are taken out (a cut made first could split a key and
// leave its prefix, which no longer matches, in the answer).
const MaxMessage = 1000

// Redactor keeps a provider's credentials out of the errors it returns: an
// upstream may echo the API key or the Authorization header in its error
// body, and a transport error quotes the request URL (user info, query).
// Those errors reach clients and logs, so adapters pass them through Error.
type Redactor struct {
	bases   []shownURL
	secrets []string // longest first
}

// shownURL is a base URL and the form it may be shown in.
type shownURL struct{ raw, shown string }

// NewRedactor builds the redactor of one provider: its base URL (shown as
// config.RedactURL shows it) and its secrets (API key, ...).
func NewRedactor(baseURL string, secrets ...string) *Redactor {
	return (&Redactor{}).With(baseURL, secrets...)
}

// With returns a redactor that also removes another base URL's credentials
// and more secrets (the /v1 gateway scrubs both providers' at once).
func (r *Redactor) With(baseURL string, secrets ...string) *Redactor {
	out := &Redactor{}
	if r != nil {
		out.bases = append(out.bases, r.bases...)
		out.secrets = append(out.secrets, r.secrets...)
	}
	if baseURL != "" {
		out.bases = append(out.bases, shownURL{raw: baseURL, shown: config.RedactURL(baseURL)})
	}
	for _, s := range append(secrets, config.URLSecrets(baseURL)...) {
		if s != "" {
			out.secrets = append(out.secrets, s)
		}
	}
	sort.SliceStable(out.secrets, func(i, j int) bool { return len(out.secrets[i]) > len(out.secrets[j]) })
	return out
}

// String removes the credentials from s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, b := range r.bases {
		if b.raw != b.shown {
			s = strings.ReplaceAll(s, b.raw, b.shown)
		}
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	return s
}

// Cut removes the credentials from s, then bounds it to n bytes (on a
// character boundary, "..." added). A cut text never ends in the beginning
// of a secret: the tail of the cut, or of a text the upstream or a read
// bound cut before, may hold a secret's first characters that no longer
// match it whole, and those are dropped.
func (r *Redactor) Cut(s string, n int) string {
	s = r.String(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return r.trimSecretPrefix(s[:n]) + "..."
}

// trimSecretPrefix drops a tail of s that begins some secret, repeatedly
// (dropping one may bare another).
func (r *Redactor) trimSecretPrefix(s string) string {
	if r == nil {
		return s
	}
	for changed := true; changed; {
		changed = false
		for _, sec := range r.secrets {
			for k := min(len(sec)-1, len(s)); k > 0; k-- {
				if strings.HasSuffix(s, sec[:k]) {
					s, changed = s[:len(s)-k], true
					break
				}
			}
		}
	}
	return s
}

// Error returns err with the credentials removed from its text: an *Error
// (copied, its Message redacted and then cut to MaxMessage, its cause
// hidden behind the redacted text) or any other error (wrapped into one
// that says only the redacted text).
func (r *Redactor) Error(err error) error {
	if r == nil || err == nil {
		return err
	}
	var pe *Error
	if errors.As(err, &pe) {
		c := *pe
		c.Message = r.Cut(pe.Message, MaxMessage)
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
