package httpapi

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// connDeadlines bounds what one request may hold its connection for, per
// request rather than with http.Server's ReadTimeout/WriteTimeout, which
// would cut a long streamed answer (and cancel its context) as well:
//
//   - the body must arrive within read (HTTP_READ_TIMEOUT) of the end of
//     the headers; the deadline is lifted when the body ends, so a stream
//     that answers afterwards is not cut;
//   - each write of the response must complete within write
//     (HTTP_WRITE_TIMEOUT), renewed before every write, so a client that
//     stops reading is dropped while a stream that keeps moving lives as
//     long as its own bounds (LLM_TIMEOUT per chunk) allow.
//
// A writer that cannot take deadlines (httptest) is served unbounded.
func connDeadlines(read, write time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		if read > 0 && c.Request.Body != nil && c.Request.Body != http.NoBody {
			if rc.SetReadDeadline(time.Now().Add(read)) == nil {
				c.Request.Body = &deadlineBody{ReadCloser: c.Request.Body, rc: rc}
			}
		}
		if write > 0 && rc.SetWriteDeadline(time.Now().Add(write)) == nil {
			c.Writer = &deadlineWriter{ResponseWriter: c.Writer, rc: rc, d: write}
		}
		c.Next()
	}
}

// deadlineBody lifts the read deadline once the body has been read to its
// end: from then on net/http reads the connection only to notice a client
// that went away, and a deadline there would cancel the request's context.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// deadlineWriter renews the write deadline before each write.
type deadlineWriter struct {
	gin.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) WriteString(s string) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.WriteString(s)
}

// Flush renews the deadline too: buffered bytes reach the client here.
func (w *deadlineWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	w.ResponseWriter.Flush()
}

// Unwrap lets http.NewResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
