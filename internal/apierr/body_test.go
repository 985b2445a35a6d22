package apierr

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/bodymem"
)

// TestReadAllGrowsWithTheBytes: a declared length sizes the first buffer
// only up to readChunk; what arrived decides the rest.
func TestReadAllGrowsWithTheBytes(t *testing.T) {
	b, err := readAll(strings.NewReader("x"), 1<<20)
	if err != nil || string(b) != "x" || cap(b) > readChunk {
		t.Fatalf("declared 1 MiB, sent 1 byte: %q %v, cap %d", b, err, cap(b))
	}
	body := bytes.Repeat([]byte("y"), 100)
	if b, err := readAll(bytes.NewReader(body), 100); err != nil || !bytes.Equal(b, body) || cap(b) != 101 {
		t.Fatalf("small body: %d bytes %v, cap %d (want one buffer of 101)", len(b), err, cap(b))
	}
	big := bytes.Repeat([]byte("z"), 3*readChunk+7)
	if b, err := readAll(bytes.NewReader(big), -1); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("unknown length: %d bytes %v", len(b), err)
	}
}

// TestAbortBodyRead: one mapping of body failures for every reader.
func TestAbortBodyRead(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{&http.MaxBytesError{Limit: 10}, 413, "body_too_large"},
		{fmt.Errorf("multipart: NextPart: %w", os.ErrDeadlineExceeded), 408, "body_timeout"},
		{fmt.Errorf("read: %w", bodymem.ErrExhausted), 503, "body_memory_exhausted"},
		{errors.New("unexpected EOF"), 0, ""},
	} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest("POST", "/x", nil)
		answered := AbortBodyRead(c, tc.err)
		if tc.status == 0 {
			if answered || w.Body.Len() > 0 {
				t.Errorf("%v: answered %d %s", tc.err, w.Code, w.Body)
			}
			continue
		}
		if !answered || w.Code != tc.status || !strings.Contains(w.Body.String(), `"code":"`+tc.code+`"`) {
			t.Errorf("%v: %d %s", tc.err, w.Code, w.Body)
		}
		if tc.status == 503 && w.Header().Get("Retry-After") != "1" {
			t.Errorf("503 without Retry-After: %v", w.Header())
		}
	}
}
