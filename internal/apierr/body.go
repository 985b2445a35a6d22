package apierr

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/bodymem"
)

// BodyRetryAfter is the wait a client is told when the bodies in flight
// hold all of REQUEST_BODY_MEMORY_MAX_BYTES: they end within
// HTTP_READ_TIMEOUT, usually far sooner.
const BodyRetryAfter = 1

// BodyFailure answers a failed read of the request body when the failure
// is the body's own, the same way on every route (JSON, forms, multipart,
// the raw bodies of /v1): over the size bound 413 body_too_large, not
// received within HTTP_READ_TIMEOUT 408 body_timeout, over the memory bound
// of all bodies in flight 503 body_memory_exhausted with Retry-After. It
// returns false, having written nothing, for any other error (malformed
// content, which each route names in its own way).
func BodyFailure(w http.ResponseWriter, r *http.Request, err error) bool {
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return false
	case errors.As(err, &tooBig):
		Error(w, r, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded): // the read deadline of HTTP_READ_TIMEOUT
		Error(w, r, http.StatusRequestTimeout, "body_timeout",
			"request body not received in time (HTTP_READ_TIMEOUT)")
	case errors.Is(err, bodymem.ErrExhausted):
		w.Header().Set("Retry-After", strconv.Itoa(BodyRetryAfter))
		Error(w, r, http.StatusServiceUnavailable, "body_memory_exhausted",
			"request bodies in flight use up the server's body memory (REQUEST_BODY_MEMORY_MAX_BYTES); retry later")
	default:
		return false
	}
	return true
}

// AbortBodyRead is BodyFailure for core's gin handlers: when it answers, it
// also stops the chain.
//
// Kept out of line, as Abort is.
//
//go:noinline
func AbortBodyRead(c *gin.Context, err error) bool {
	if BodyFailure(c.Writer, c.Request, err) {
		c.Abort()
		return true
	}
	return false
}

// readChunk is the most ReadBody allocates ahead of the bytes it has: a
// declared Content-Length is a promise, not bytes, and a client that
// declares 1 MiB and sends one byte must cost about one byte.
const readChunk = 4 << 10

// ReadAll reads the whole request body (bounded by the body limit core
// sets), its buffer growing with the bytes received, never with the length
// declared. A failure is answered (BodyFailure, else 400 bad_body) and ok
// is false.
func ReadAll(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := readAll(r.Body, r.ContentLength)
	if err != nil {
		if !BodyFailure(w, r, err) {
			Error(w, r, http.StatusBadRequest, "bad_body", "could not read the request body: "+err.Error())
		}
		return nil, false
	}
	return b, true
}

// readAll is io.ReadAll whose first buffer fits a small declared body
// whole (one allocation for the usual request), and no more than readChunk.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	first := int64(512)
	if declared > 0 {
		first = min(declared+1, readChunk) // +1: room to see EOF without growing
	}
	b := make([]byte, 0, first)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow by append's policy: what arrived decides
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
