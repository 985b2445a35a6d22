// Package upstream is the llm group's one client per provider: an
// OpenAI-compatible API and the Anthropic Messages API, each spoken over
// net/http in its own wire format (features/llm/openaicompat). Both surfaces
// of the group, /api/v2/llm and the /v1 gateway, call the providers only
// through a Client: the request body a caller hands over is sent exactly as
// it is (the gateway forwards the bytes it validated), answers come back in
// OpenAI's chat.completion format (Anthropic's translated), and every error
// is a *provider.Error with the credentials of both providers taken out
// before it is cut to its bound.
//
// One call is one attempt: retries, deadlines, metrics and the response
// cache belong to the caller (package llm, exchange.go), so they exist once.
package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/provider"
)

// Provider names, in requests, metrics and errors.
const (
	OpenAI    = openaicompat.OpenAI
	Anthropic = openaicompat.Anthropic
)

// Bounds of what a client holds of an upstream answer.
const (
	// MaxAnswer bounds a non-streamed answer held in memory.
	MaxAnswer = 16 << 20
	// maxErrorBody bounds an error body read for its message.
	maxErrorBody = 64 << 10
)

// Client is one provider's API: its endpoints, the headers every call
// sends, and how its answers and errors read. It is immutable and safe for
// concurrent use.
type Client struct {
	name  string
	chat  target
	embed target // OpenAI only
	tr    http.RoundTripper
	red   *provider.Redactor
}

// target is one endpoint with the headers every call sends. The transport
// only reads a request, so calls share the URL and the header map.
type target struct {
	url    *url.URL
	header http.Header
}

// New builds the client of provider name (OpenAI or Anthropic) for baseURL
// and apiKey over tr; it does no I/O. red takes credentials out of the
// errors it returns (the caller's, covering every provider's secrets).
//
// The key goes where each API documents it: Authorization: Bearer for
// OpenAI, x-api-key for Anthropic (which Anthropic-compatible servers
// check too; the Anthropic API also takes a bearer token, which its Go SDK
// v2 sends).
func New(name, baseURL, apiKey string, tr http.RoundTripper, red *provider.Redactor) (*Client, error) {
	// The endpoint paths go onto the base's path; its query (an Azure
	// OpenAI deployment's api-version, say) stays on every endpoint.
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%s endpoint: %w", name, red.Error(err))
	}
	h := http.Header{"Content-Type": {"application/json"}}
	c := &Client{name: name, tr: tr, red: red}
	switch name {
	case OpenAI:
		h["Authorization"] = []string{"Bearer " + apiKey}
		c.chat = newTarget(base, "chat/completions", h)
		c.embed = newTarget(base, "embeddings", h)
	case Anthropic:
		h["X-Api-Key"] = []string{apiKey}
		h["Anthropic-Version"] = []string{openaicompat.AnthropicVersion}
		c.chat = newTarget(base, "v1/messages", h)
	default:
		return nil, fmt.Errorf("upstream: unknown provider %q", name)
	}
	return c, nil
}

// newTarget is path under base, keeping base's query.
func newTarget(base *url.URL, path string, h http.Header) target {
	b := *base
	if b.Path == "" { // JoinPath would give a path without its leading slash
		b.Path, b.RawPath = "/", ""
	}
	u := b.JoinPath(path)
	return target{url: u, header: h}
}

// Name is the provider's name.
func (c *Client) Name() string { return c.name }

// post sends body to t. A non-2xx answer is a *provider.Error with the
// upstream's message (credentials out, then cut) and its Retry-After. It
// calls the transport directly: no redirects are followed and no cookies
// kept, and http.Client's bookkeeping for them costs allocations on every
// call.
func (c *Client) post(ctx context.Context, t target, body []byte) (*http.Response, error) {
	if t.url == nil {
		return nil, &provider.Error{Provider: c.name, Kind: provider.KindOther, Message: "endpoint not offered by this provider"}
	}
	req := (&http.Request{
		Method: http.MethodPost, URL: t.url, Host: t.url.Host, Header: t.header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}).WithContext(ctx)
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var msg string
	if c.name == Anthropic {
		_, msg = openaicompat.AnthropicError(b)
	} else {
		msg, _, _, _ = openaicompat.OpenAIErrorDetail(b)
	}
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return nil, &provider.Error{Provider: c.name, Kind: provider.KindStatus, Status: resp.StatusCode,
		RetryAfter: provider.ParseRetryAfter(resp.Header.Get("Retry-After")),
		Message:    c.cut(msg)}
}

// fail classifies an error of a call made with ctx and takes the
// credentials out of its text (a transport error quotes the request URL).
func (c *Client) fail(ctx context.Context, err error) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err // made here, already redacted
	}
	return c.red.Error(provider.Classify(ctx, c.name, err))
}

// cut is text an upstream wrote, ready for a client: credentials out
// first, then the cut (a cut made first could split an echoed key and
// relay its prefix).
func (c *Client) cut(s string) string { return c.red.Cut(s, provider.MaxMessage) }

func (c *Client) malformed(format string, args ...any) *provider.Error {
	return &provider.Error{Provider: c.name, Kind: provider.KindMalformed, Message: c.cut(fmt.Sprintf(format, args...))}
}
