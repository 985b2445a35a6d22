package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advanced-backend/advanced-backend/internal/bodymem"
)

// bodyMemory puts every request body under the memory bound of all bodies
// in flight (REQUEST_BODY_MEMORY_MAX_BYTES): the body reserves what the
// handler reads, and gives it back when the handler is done. A read past
// the bound fails with bodymem.ErrExhausted, which apierr.AbortBodyRead
// answers 503 with Retry-After.
func bodyMemory(b *bodymem.Budget) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body == nil || c.Request.Body == http.NoBody {
			c.Next()
			return
		}
		body := b.Wrap(c.Request.Body)
		c.Request.Body = body
		defer body.Release()
		c.Next()
	}
}

// registerBodyMetrics exports the budget: bytes held now and reads refused.
func registerBodyMetrics(reg prometheus.Registerer, b *bodymem.Budget) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "advanced_backend_request_body_bytes_in_flight",
			Help: "Bytes that request bodies in flight hold (read, not declared), bounded by REQUEST_BODY_MEMORY_MAX_BYTES.",
		}, func() float64 { return float64(b.InUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "advanced_backend_request_body_bytes_max",
			Help: "REQUEST_BODY_MEMORY_MAX_BYTES: the bound on bytes request bodies in flight hold together.",
		}, func() float64 { return float64(b.Max()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "advanced_backend_request_body_refused_total",
			Help: "Request body reads refused (503) because bodies in flight held REQUEST_BODY_MEMORY_MAX_BYTES.",
		}, func() float64 { return float64(b.Refused()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register body memory metrics: %w", err)
		}
	}
	return nil
}
