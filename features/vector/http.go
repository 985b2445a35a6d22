package vector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/durable"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
)

// Bounds of one request.
const (
	MaxUpsertPoints = 1000 // points per upsert
	MaxSearchLimit  = 1000 // results per search
	defaultLimit    = 10
)

func (f *feature) mount(h *capability.Host) {
	g := h.Router.Group("/api/v2/vector/collections/:name")
	g.PUT("", f.createCollection)
	g.GET("", f.getCollection)
	// dropping a collection loses its points: admins only (a host that
	// hands over no admin guard gets a closed route, never an open one)
	admin := h.RequireAdmin
	if admin == nil {
		admin = func(c *gin.Context) {
			apierr.Abort(c, http.StatusForbidden, "forbidden", "no admin guard is configured: admin routes are refused")
		}
	}
	g.DELETE("", admin, f.deleteCollection)
	g.POST("/points", f.upsert)
	g.GET("/points/:id", f.getPoint)
	g.DELETE("/points/:id", f.deletePoint)
	g.POST("/search", f.search)
	// a backup writes a file on the server: admins only
	h.Router.POST("/api/v2/vector/backup", admin, f.backup)
}

// ready returns the store and the collection name, or answers the error.
func (f *feature) ready(c *gin.Context) (store.Store, string, bool) {
	st := f.currentStore()
	if st == nil {
		apierr.Abort(c, http.StatusServiceUnavailable, "starting", "the vector group is still starting")
		return nil, "", false
	}
	name := c.Param("name")
	if err := store.CheckName(name); err != nil {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", err.Error())
		return nil, "", false
	}
	return st, name, true
}

// storeError answers a store failure with its status.
func storeError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, store.ErrCollectionNotFound):
		apierr.Abort(c, http.StatusNotFound, "collection_not_found", err.Error())
	case errors.Is(err, store.ErrPointNotFound):
		apierr.Abort(c, http.StatusNotFound, "point_not_found", err.Error())
	case errors.Is(err, store.ErrCollectionConflict):
		apierr.Abort(c, http.StatusConflict, "collection_conflict", err.Error())
	case errors.Is(err, store.ErrFull):
		apierr.Abort(c, http.StatusInsufficientStorage, "store_full", err.Error())
	case errors.Is(err, store.ErrPayloadTooLarge):
		apierr.Abort(c, http.StatusRequestEntityTooLarge, "payload_too_large", err.Error())
	case errors.Is(err, store.ErrInvalid):
		apierr.Abort(c, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, store.ErrUnavailable):
		apierr.Abort(c, http.StatusServiceUnavailable, "store_unavailable", err.Error())
	case c.Request.Context().Err() != nil:
		c.AbortWithStatus(499) // the client is gone
	default:
		apierr.Abort(c, http.StatusBadGateway, "store_error", err.Error())
	}
}

type collectionBody struct {
	Size     int              `json:"size"`
	Distance string           `json:"distance"`
	Index    *store.IndexSpec `json:"index"`
}

func (f *feature) createCollection(c *gin.Context) {
	st, name, ok := f.ready(c)
	if !ok {
		return
	}
	var b collectionBody
	if !apierr.DecodeJSON(c, &b) {
		return
	}
	if b.Size < 1 || b.Size > store.MaxDimension {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("size: want 1 to %d, got %d", store.MaxDimension, b.Size))
		return
	}
	d, err := store.ParseDistance(b.Distance)
	if err != nil {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var spec store.IndexSpec
	if b.Index != nil {
		if spec, err = b.Index.Normalize(); err != nil {
			apierr.Abort(c, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	}
	var created bool
	if indexed, ok := st.(store.Indexed); ok {
		if spec.Type == "" {
			spec.Type = store.IndexFlat
		}
		created, err = indexed.CreateIndexed(c.Request.Context(), name, b.Size, d, spec)
	} else if b.Index != nil {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "index applies to the embedded store; this service uses "+st.Backend()+", which builds its own")
		return
	} else {
		created, err = st.Create(c.Request.Context(), name, b.Size, d)
	}
	if err != nil {
		storeError(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	out := gin.H{"name": name, "size": b.Size, "distance": d, "created": created}
	if spec.Type != "" {
		out["index"] = spec
	}
	apierr.JSON(c, status, out)
}

func (f *feature) getCollection(c *gin.Context) {
	st, name, ok := f.ready(c)
	if !ok {
		return
	}
	info, err := st.Info(c.Request.Context(), name)
	if err != nil {
		storeError(c, err)
		return
	}
	apierr.JSON(c, http.StatusOK, info)
}

func (f *feature) deleteCollection(c *gin.Context) {
	st, name, ok := f.ready(c)
	if !ok {
		return
	}
	if err := st.Delete(c.Request.Context(), name); err != nil {
		storeError(c, err)
		return
	}
	apierr.JSON(c, http.StatusOK, gin.H{"deleted": name})
}

type pointIn struct {
	ID      json.RawMessage `json:"id"`
	Vector  vectorIn        `json:"vector"`
	Text    *string         `json:"text"`
	Payload map[string]any  `json:"payload"`
}

// decodePoints accepts a JSON array of points or {"points": [...]},
// strictly, in one pass over the body (pointsBody).
func decodePoints(c *gin.Context) ([]pointIn, bool) {
	var pts pointsBody
	if !apierr.DecodeJSON(c, &pts) {
		return nil, false
	}
	return pts, true
}

func (f *feature) upsert(c *gin.Context) {
	st, name, ok := f.ready(c)
	if !ok {
		return
	}
	in, ok := decodePoints(c)
	if !ok {
		return
	}
	if len(in) == 0 || len(in) > MaxUpsertPoints {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("points: want 1 to %d, got %d", MaxUpsertPoints, len(in)))
		return
	}
	ctx := c.Request.Context()
	info, err := st.Info(ctx, name)
	if err != nil {
		storeError(c, err)
		return
	}
	pts := make([]store.Point, len(in))
	// each payload is checked against the bounds and encoded here, once,
	// for every backend, before any embedding call (a bad payload must not
	// cost one); a backend that keeps JSON keeps this encoding
	enc := make([]store.Encoded, len(in))
	var texts []string
	var textAt []int
	for i, p := range in {
		id, err := store.ParseIDJSON(p.ID)
		if err != nil {
			apierr.Abort(c, http.StatusBadRequest, "bad_id", fmt.Sprintf("points[%d]: %v", i, err))
			return
		}
		pts[i] = store.Point{ID: id, Vector: p.Vector, Payload: p.Payload}
		payload, err := store.EncodePayload(p.Payload, f.cfg.MaxPayloadBytes, f.cfg.MaxPayloadDepth)
		if err != nil {
			storeError(c, fmt.Errorf("points[%d].payload: %w", i, err))
			return
		}
		enc[i] = store.Encoded{ID: id, Payload: payload}
		switch {
		case p.Vector != nil && p.Text != nil:
			apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("points[%d]: give vector or text, not both", i))
			return
		case p.Text != nil:
			if *p.Text == "" {
				apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("points[%d].text: must not be empty", i))
				return
			}
			texts = append(texts, *p.Text)
			textAt = append(textAt, i)
		case p.Vector == nil:
			apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("points[%d]: needs a vector or a text", i))
			return
		default:
			if err := store.CheckVector(p.Vector, info.Size, info.Distance); err != nil {
				apierr.Abort(c, http.StatusBadRequest, "dimension_mismatch", fmt.Sprintf("points[%d].vector: %v", i, err))
				return
			}
		}
	}
	if len(texts) > 0 {
		vecs, ok := f.embed(c, texts)
		if !ok {
			return
		}
		for j, i := range textAt {
			if err := store.CheckVector(vecs[j], info.Size, info.Distance); err != nil {
				apierr.Abort(c, http.StatusBadRequest, "dimension_mismatch",
					fmt.Sprintf("points[%d].text: its embedding does not fit collection %s: %v", i, name, err))
				return
			}
			pts[i].Vector = vecs[j]
		}
	}
	if w, ok := st.(store.EncodedWriter); ok {
		for i := range enc {
			enc[i].Vector = pts[i].Vector
		}
		err = w.UpsertEncoded(ctx, name, enc)
	} else {
		err = st.Upsert(ctx, name, pts)
	}
	if err != nil {
		storeError(c, err)
		return
	}
	apierr.JSON(c, http.StatusOK, gin.H{"upserted": len(pts), "embedded": len(texts)})
}

// embed turns texts into vectors through the llm group's embedder; false
// after answering why it cannot.
func (f *feature) embed(c *gin.Context, texts []string) ([][]float32, bool) {
	if ok, state := f.embedderState(); !ok {
		apierr.Abort(c, http.StatusBadRequest, "embeddings_unavailable",
			"text needs remote embeddings, and "+state+"; send a vector instead")
		return nil, false
	}
	e, _ := f.shared.embedder.Get()
	vecs, err := e.Embed(c.Request.Context(), texts, "")
	if err != nil {
		if c.Request.Context().Err() != nil {
			c.AbortWithStatus(499)
			return nil, false
		}
		apierr.Abort(c, http.StatusBadGateway, "embedding_failed", "remote embeddings failed: "+err.Error())
		return nil, false
	}
	if len(vecs) != len(texts) {
		apierr.Abort(c, http.StatusBadGateway, "embedding_failed", fmt.Sprintf("remote embeddings: %d vectors for %d texts", len(vecs), len(texts)))
		return nil, false
	}
	return vecs, true
}

type searchBody struct {
	Vector vectorIn     `json:"vector"`
	Text   *string      `json:"text"`
	Limit  *int         `json:"limit"`
	Filter store.Filter `json:"filter"`
	// Ef and Exact tune the search of an HNSW collection (embedded store).
	Ef    *int `json:"ef"`
	Exact bool `json:"exact"`
}

func (f *feature) search(c *gin.Context) {
	st, name, ok := f.ready(c)
	if !ok {
		return
	}
	var b searchBody
	if !apierr.DecodeJSON(c, &b) {
		return
	}
	limit := defaultLimit
	if b.Limit != nil {
		limit = *b.Limit
	}
	if limit < 1 || limit > MaxSearchLimit {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("limit: want 1 to %d, got %d", MaxSearchLimit, limit))
		return
	}
	if err := b.Filter.Check(); err != nil {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if (b.Vector == nil) == (b.Text == nil) {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "give exactly one of vector and text")
		return
	}
	ctx := c.Request.Context()
	info, err := st.Info(ctx, name)
	if err != nil {
		storeError(c, err)
		return
	}
	var params store.SearchParams
	if b.Ef != nil {
		if *b.Ef < 1 || *b.Ef > store.MaxHNSWEf {
			apierr.Abort(c, http.StatusBadRequest, "bad_request", fmt.Sprintf("ef: want 1 to %d, got %d", store.MaxHNSWEf, *b.Ef))
			return
		}
		params.Ef = *b.Ef
	}
	params.Exact = b.Exact
	indexed, isIndexed := st.(store.Indexed)
	if !isIndexed && (b.Ef != nil || b.Exact) {
		apierr.Abort(c, http.StatusBadRequest, "bad_request", "ef and exact apply to the embedded store; this service uses "+st.Backend())
		return
	}
	q := []float32(b.Vector)
	if b.Text != nil {
		if *b.Text == "" {
			apierr.Abort(c, http.StatusBadRequest, "bad_request", "text: must not be empty")
			return
		}
		vecs, ok := f.embed(c, []string{*b.Text})
		if !ok {
			return
		}
		q = vecs[0]
	}
	if err := store.CheckVector(q, info.Size, info.Distance); err != nil {
		apierr.Abort(c, http.StatusBadRequest, "dimension_mismatch", "query: "+err.Error())
		return
	}
	var hits []store.Hit
	if isIndexed {
		hits, err = indexed.SearchWith(ctx, name, q, limit, b.Filter, params)
	} else {
		hits, err = st.Search(ctx, name, q, limit, b.Filter)
	}
	if err != nil {
		storeError(c, err)
		return
	}
	for i := range hits {
		if hits[i].Payload == nil {
			hits[i].Payload = map[string]any{}
		}
	}
	// a dot or euclid score of finite vectors can overflow float32
	apierr.FiniteJSON(c, http.StatusOK, hits)
}

// readyPoint is ready plus the point id of the route; it has answered when
// ok is false.
func (f *feature) readyPoint(c *gin.Context) (store.Store, string, store.ID, bool) {
	st, name, ok := f.ready(c)
	if !ok {
		return nil, "", store.ID{}, false
	}
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		apierr.Abort(c, http.StatusBadRequest, "bad_id", err.Error())
		return nil, "", store.ID{}, false
	}
	return st, name, id, true
}

func (f *feature) getPoint(c *gin.Context) {
	st, name, id, ok := f.readyPoint(c)
	if !ok {
		return
	}
	p, err := st.Get(c.Request.Context(), name, id)
	if err != nil {
		storeError(c, err)
		return
	}
	if p.Payload == nil {
		p.Payload = map[string]any{}
	}
	apierr.JSON(c, http.StatusOK, p)
}

func (f *feature) deletePoint(c *gin.Context) {
	st, name, id, ok := f.readyPoint(c)
	if !ok {
		return
	}
	n, err := st.DeletePoints(c.Request.Context(), name, []store.ID{id})
	if err != nil {
		storeError(c, err)
		return
	}
	// Qdrant does not say whether the point was there: deleted is null
	var deleted any = n
	if n < 0 {
		deleted = nil
	}
	apierr.JSON(c, http.StatusOK, gin.H{"id": id, "deleted": deleted})
}

// backup writes a consistent snapshot of the embedded index into
// VECTOR_DATA_DIR/backups while the service keeps serving.
func (f *feature) backup(c *gin.Context) {
	st := f.currentStore()
	if st == nil {
		apierr.Abort(c, http.StatusServiceUnavailable, "starting", "the vector group is still starting")
		return
	}
	d, ok := st.(*durable.Store)
	if !ok {
		apierr.Abort(c, http.StatusConflict, "backup_unavailable",
			"backups are of the durable embedded index; this service uses "+st.Backend()+" (use Qdrant's own snapshots)")
		return
	}
	info, err := d.Backup()
	if err != nil {
		storeError(c, err)
		return
	}
	f.logger.Info("vector backup written", "path", info.Path, "bytes", info.Bytes, "points", info.Points)
	apierr.JSON(c, http.StatusOK, info)
}
