package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/auth"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/latency"
)

// clusterReadTimeout bounds the shared-store read of one scope=cluster request.
const clusterReadTimeout = 2 * time.Second

// latencyScope reads ?scope= (local, the default, or cluster); false when
// it answered 400.
func latencyScope(c *gin.Context) (string, bool) {
	switch v := c.DefaultQuery("scope", "local"); v {
	case "local", "cluster":
		return v, true
	default:
		apierr.Abort(c, http.StatusBadRequest, "bad_scope", fmt.Sprintf("scope %q: want local (default) or cluster", v))
		return "", false
	}
}

// clusterStore returns the shared store, or answers why there is none:
// 501 when this replica cannot merge digests, 503 when no store is
// provided (no REDIS_URL, the vector group not linked or not started).
func (s *Server) clusterStore(c *gin.Context) (groupapi.ClusterLatency, bool) {
	if err := s.lat.ClusterSupported(); err != nil {
		apierr.Abort(c, http.StatusNotImplemented, "cluster_unsupported", err.Error())
		return nil, false
	}
	var cl groupapi.ClusterLatency
	ok := false
	if s.deps.Services != nil {
		cl, ok = s.deps.Services.Cluster.Get()
	}
	if !ok {
		apierr.Abort(c, http.StatusServiceUnavailable, "cluster_unavailable", s.clusterAbsence())
		return nil, false
	}
	return cl, true
}

// clusterAbsence says why this replica has no shared store.
func (s *Server) clusterAbsence() string {
	rt := s.deps.Groups
	switch {
	case !rt.Linked("vector"):
		return fmt.Sprintf("scope=cluster needs Redis through the vector group, which is not linked into the %s variant", rt.Variant())
	case !rt.Enabled("vector"):
		return "scope=cluster needs Redis through the vector group, which is not enabled: " + rt.DisabledReason("vector")
	}
	// The vector group provides the store when its Redis setting is given;
	// its own status says what it has.
	return "scope=cluster: the vector group has not provided the shared store: " + rt.State("vector").Detail
}

// clusterParts reads the live replicas' payloads; false when it answered 503.
func (s *Server) clusterParts(c *gin.Context, cl groupapi.ClusterLatency) ([]latency.ClusterPart, bool) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), clusterReadTimeout)
	defer cancel()
	reps, err := cl.Replicas(ctx)
	if err != nil {
		apierr.Abort(c, http.StatusServiceUnavailable, "cluster_unavailable", "scope=cluster: the shared store does not answer: "+err.Error())
		return nil, false
	}
	parts := make([]latency.ClusterPart, len(reps))
	for i, r := range reps {
		parts[i] = latency.ClusterPart{Replica: r.ID, Age: r.Age, Data: r.Data}
	}
	return parts, true
}

func (s *Server) clusterQuantiles(c *gin.Context, extra []float64, route string) {
	cl, ok := s.clusterStore(c)
	if !ok {
		return
	}
	parts, ok := s.clusterParts(c, cl)
	if !ok {
		return
	}
	rep := latency.ClusterQuantiles(parts, extra, route)
	apierr.JSON(c, http.StatusOK, gin.H{
		"scope": rep.Scope, "unit": rep.Unit, "estimator": rep.Estimator,
		"overall": rep.Overall, "routes": rep.Routes,
		"replicas": rep.Replicas, "skipped": rep.Skipped,
		"answered_by": s.deps.Config.Cluster.ReplicaID, "store": cl.Describe(),
	})
}

func (s *Server) clusterDistribution(c *gin.Context, route string) {
	cl, ok := s.clusterStore(c)
	if !ok {
		return
	}
	parts, ok := s.clusterParts(c, cl)
	if !ok {
		return
	}
	rep := latency.ClusterDistribution(parts, route)
	apierr.JSON(c, http.StatusOK, gin.H{
		"scope": rep.Scope, "unit": rep.Unit, "bucket_edges_ms": rep.BucketEdgesMS, "ema_rule": rep.EMARule,
		"overall": rep.Overall, "routes": rep.Routes,
		"replicas": rep.Replicas, "skipped": rep.Skipped,
		"answered_by": s.deps.Config.Cluster.ReplicaID, "store": cl.Describe(),
	})
}

// clusterReset serves POST /admin/adaptive/reset?scope=cluster: this
// replica resets at once, every other live replica within one publish
// interval (it watches the reset token in the shared store).
func (s *Server) clusterReset(c *gin.Context) {
	var cl groupapi.ClusterLatency
	ok := false
	if s.deps.Services != nil {
		cl, ok = s.deps.Services.Cluster.Get()
	}
	if !ok {
		apierr.Abort(c, http.StatusServiceUnavailable, "cluster_unavailable", s.clusterAbsence())
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), clusterReadTimeout)
	defer cancel()
	told, err := cl.ResetAll(ctx)
	if err != nil {
		apierr.Abort(c, http.StatusServiceUnavailable, "cluster_unavailable", "cluster reset: the shared store does not answer (nothing was reset): "+err.Error())
		return
	}
	res := s.lat.Reset()
	s.deps.Phase.Info("latency", fmt.Sprintf("LATENCY: cluster-wide reset by %s on replica %s, %d replicas told",
		auth.ClientAddr(c), s.deps.Config.Cluster.ReplicaID, len(told)))
	apierr.JSON(c, http.StatusOK, gin.H{
		"scope":           "cluster",
		"replicas_told":   len(told),
		"replicas":        told,
		"applied_within":  cl.Describe().PublishInterval,
		"cleared_routes":  res.ClearedRoutes,
		"cleared_samples": res.ClearedSamples,
		"reset_at":        time.Now().UTC().Format(time.RFC3339Nano),
	})
}

// clusterMode names cluster mode for /__phase.
func (s *Server) clusterMode() string {
	if s.deps.Services != nil {
		if cl, ok := s.deps.Services.Cluster.Get(); ok {
			d := cl.Describe()
			return fmt.Sprintf("on (%s, publish every %gs, ttl %gs)", d.Store, d.PublishInterval, d.TTL)
		}
	}
	return "off: " + s.clusterAbsence()
}
