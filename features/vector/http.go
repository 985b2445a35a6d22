package vector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/durable"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// Bounds of one request.
const (
	MaxUpsertPoints = 1000 // points per upsert
	MaxSearchLimit  = 1000 // results per search
	defaultLimit    = 10
)

func (f *feature) mount(h *groupapi.Host) {
	const c = "/api/v2/vector/collections/{name}"
	route := func(method, pattern string, handler http.HandlerFunc, opts ...groupapi.RouteOption) {
		h.Routes.Handle(method, pattern, handler, opts...)
	}
	route(http.MethodPut, c, f.createCollection)
	route(http.MethodGet, c, f.getCollection)
	// dropping a collection loses its points: admins only
	route(http.MethodDelete, c, f.deleteCollection, groupapi.AdminOnly)
	route(http.MethodPost, c+"/points", f.upsert)
	route(http.MethodGet, c+"/points/{id}", f.getPoint)
	route(http.MethodDelete, c+"/points/{id}", f.deletePoint)
	route(http.MethodPost, c+"/search", f.search)
	// a backup writes a file on the server: admins only
	route(http.MethodPost, "/api/v2/vector/backup", f.backup, groupapi.AdminOnly)
}

// ready returns the store and the collection name, or answers the error.
func (f *feature) ready(w http.ResponseWriter, r *http.Request) (store.Store, string, bool) {
	st := f.currentStore()
	if st == nil {
		apierr.Error(w, r, http.StatusServiceUnavailable, "starting", "the vector group is still starting")
		return nil, "", false
	}
	name := r.PathValue("name")
	if err := store.CheckName(name); err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return nil, "", false
	}
	return st, name, true
}

// storeError answers a store failure with its status.
func storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrCollectionNotFound):
		apierr.Error(w, r, http.StatusNotFound, "collection_not_found", err.Error())
	case errors.Is(err, store.ErrPointNotFound):
		apierr.Error(w, r, http.StatusNotFound, "point_not_found", err.Error())
	case errors.Is(err, store.ErrCollectionConflict):
		apierr.Error(w, r, http.StatusConflict, "collection_conflict", err.Error())
	case errors.Is(err, store.ErrFull):
		apierr.Error(w, r, http.StatusInsufficientStorage, "store_full", err.Error())
	case errors.Is(err, store.ErrPayloadTooLarge):
		apierr.Error(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", err.Error())
	case errors.Is(err, store.ErrInvalid):
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, store.ErrUnavailable):
		apierr.Error(w, r, http.StatusServiceUnavailable, "store_unavailable", err.Error())
	case r.Context().Err() != nil:
		w.WriteHeader(499) // the client is gone
	default:
		apierr.Error(w, r, http.StatusBadGateway, "store_error", err.Error())
	}
}

type collectionBody struct {
	Size     int              `json:"size"`
	Distance string           `json:"distance"`
	Index    *store.IndexSpec `json:"index"`
}

func (f *feature) createCollection(w http.ResponseWriter, r *http.Request) {
	st, name, ok := f.ready(w, r)
	if !ok {
		return
	}
	var b collectionBody
	if !apierr.ReadJSON(w, r, &b) {
		return
	}
	if b.Size < 1 || b.Size > store.MaxDimension {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("size: want 1 to %d, got %d", store.MaxDimension, b.Size))
		return
	}
	d, err := store.ParseDistance(b.Distance)
	if err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var spec store.IndexSpec
	if b.Index != nil {
		if spec, err = b.Index.Normalize(); err != nil {
			apierr.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	}
	var created bool
	if indexed, ok := st.(store.Indexed); ok {
		if spec.Type == "" {
			spec.Type = store.IndexFlat
		}
		created, err = indexed.CreateIndexed(r.Context(), name, b.Size, d, spec)
	} else if b.Index != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", "index applies to the embedded store; this service uses "+st.Backend()+", which builds its own")
		return
	} else {
		created, err = st.Create(r.Context(), name, b.Size, d)
	}
	if err != nil {
		storeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	out := map[string]any{"name": name, "size": b.Size, "distance": d, "created": created}
	if spec.Type != "" {
		out["index"] = spec
	}
	apierr.WriteJSON(w, r, status, out)
}

func (f *feature) getCollection(w http.ResponseWriter, r *http.Request) {
	st, name, ok := f.ready(w, r)
	if !ok {
		return
	}
	info, err := st.Info(r.Context(), name)
	if err != nil {
		storeError(w, r, err)
		return
	}
	apierr.WriteJSON(w, r, http.StatusOK, info)
}

func (f *feature) deleteCollection(w http.ResponseWriter, r *http.Request) {
	st, name, ok := f.ready(w, r)
	if !ok {
		return
	}
	if err := st.Delete(r.Context(), name); err != nil {
		storeError(w, r, err)
		return
	}
	apierr.WriteJSON(w, r, http.StatusOK, map[string]any{"deleted": name})
}

type pointIn struct {
	ID      json.RawMessage `json:"id"`
	Vector  vectorIn        `json:"vector"`
	Text    *string         `json:"text"`
	Payload map[string]any  `json:"payload"`
}

// decodePoints accepts a JSON array of points or {"points": [...]},
// strictly, in one pass over the body (pointsBody).
func decodePoints(w http.ResponseWriter, r *http.Request) ([]pointIn, bool) {
	var pts pointsBody
	if !apierr.ReadJSON(w, r, &pts) {
		return nil, false
	}
	return pts, true
}

func (f *feature) upsert(w http.ResponseWriter, r *http.Request) {
	st, name, ok := f.ready(w, r)
	if !ok {
		return
	}
	in, ok := decodePoints(w, r)
	if !ok {
		return
	}
	if len(in) == 0 || len(in) > MaxUpsertPoints {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("points: want 1 to %d, got %d", MaxUpsertPoints, len(in)))
		return
	}
	ctx := r.Context()
	info, err := st.Info(ctx, name)
	if err != nil {
		storeError(w, r, err)
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
			apierr.Error(w, r, http.StatusBadRequest, "bad_id", fmt.Sprintf("points[%d]: %v", i, err))
			return
		}
		pts[i] = store.Point{ID: id, Vector: p.Vector, Payload: p.Payload}
		payload, err := store.EncodePayload(p.Payload, f.cfg.MaxPayloadBytes, f.cfg.MaxPayloadDepth)
		if err != nil {
			storeError(w, r, fmt.Errorf("points[%d].payload: %w", i, err))
			return
		}
		enc[i] = store.Encoded{ID: id, Payload: payload}
		switch {
		case p.Vector != nil && p.Text != nil:
			apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("points[%d]: give vector or text, not both", i))
			return
		case p.Text != nil:
			if *p.Text == "" {
				apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("points[%d].text: must not be empty", i))
				return
			}
			texts = append(texts, *p.Text)
			textAt = append(textAt, i)
		case p.Vector == nil:
			apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("points[%d]: needs a vector or a text", i))
			return
		default:
			if err := store.CheckVector(p.Vector, info.Size, info.Distance); err != nil {
				apierr.Error(w, r, http.StatusBadRequest, "dimension_mismatch", fmt.Sprintf("points[%d].vector: %v", i, err))
				return
			}
		}
	}
	if len(texts) > 0 {
		vecs, ok := f.embed(w, r, texts)
		if !ok {
			return
		}
		for j, i := range textAt {
			if err := store.CheckVector(vecs[j], info.Size, info.Distance); err != nil {
				apierr.Error(w, r, http.StatusBadRequest, "dimension_mismatch",
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
		storeError(w, r, err)
		return
	}
	apierr.WriteJSON(w, r, http.StatusOK, map[string]any{"upserted": len(pts), "embedded": len(texts)})
}

// embed turns texts into vectors through the llm group's embedder; false
// after answering why it cannot.
func (f *feature) embed(w http.ResponseWriter, r *http.Request, texts []string) ([][]float32, bool) {
	if ok, state := f.embedderState(); !ok {
		apierr.Error(w, r, http.StatusBadRequest, "embeddings_unavailable",
			"text needs remote embeddings, and "+state+"; send a vector instead")
		return nil, false
	}
	e, _ := f.shared.embedder.Get()
	vecs, err := e.Embed(r.Context(), texts, "")
	if err != nil {
		if r.Context().Err() != nil {
			w.WriteHeader(499)
			return nil, false
		}
		apierr.Error(w, r, http.StatusBadGateway, "embedding_failed", "remote embeddings failed: "+err.Error())
		return nil, false
	}
	if len(vecs) != len(texts) {
		apierr.Error(w, r, http.StatusBadGateway, "embedding_failed", fmt.Sprintf("remote embeddings: %d vectors for %d texts", len(vecs), len(texts)))
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

func (f *feature) search(w http.ResponseWriter, r *http.Request) {
	st, name, ok := f.ready(w, r)
	if !ok {
		return
	}
	var b searchBody
	if !apierr.ReadJSON(w, r, &b) {
		return
	}
	limit := defaultLimit
	if b.Limit != nil {
		limit = *b.Limit
	}
	if limit < 1 || limit > MaxSearchLimit {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("limit: want 1 to %d, got %d", MaxSearchLimit, limit))
		return
	}
	if err := b.Filter.Check(); err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if (b.Vector == nil) == (b.Text == nil) {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", "give exactly one of vector and text")
		return
	}
	ctx := r.Context()
	info, err := st.Info(ctx, name)
	if err != nil {
		storeError(w, r, err)
		return
	}
	var params store.SearchParams
	if b.Ef != nil {
		if *b.Ef < 1 || *b.Ef > store.MaxHNSWEf {
			apierr.Error(w, r, http.StatusBadRequest, "bad_request", fmt.Sprintf("ef: want 1 to %d, got %d", store.MaxHNSWEf, *b.Ef))
			return
		}
		params.Ef = *b.Ef
	}
	params.Exact = b.Exact
	indexed, isIndexed := st.(store.Indexed)
	if !isIndexed && (b.Ef != nil || b.Exact) {
		apierr.Error(w, r, http.StatusBadRequest, "bad_request", "ef and exact apply to the embedded store; this service uses "+st.Backend())
		return
	}
	q := []float32(b.Vector)
	if b.Text != nil {
		if *b.Text == "" {
			apierr.Error(w, r, http.StatusBadRequest, "bad_request", "text: must not be empty")
			return
		}
		vecs, ok := f.embed(w, r, []string{*b.Text})
		if !ok {
			return
		}
		q = vecs[0]
	}
	if err := store.CheckVector(q, info.Size, info.Distance); err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "dimension_mismatch", "query: "+err.Error())
		return
	}
	var hits []store.Hit
	if isIndexed {
		hits, err = indexed.SearchWith(ctx, name, q, limit, b.Filter, params)
	} else {
		hits, err = st.Search(ctx, name, q, limit, b.Filter)
	}
	if err != nil {
		storeError(w, r, err)
		return
	}
	for i := range hits {
		if hits[i].Payload == nil {
			hits[i].Payload = map[string]any{}
		}
	}
	// a dot or euclid score of finite vectors can overflow float32
	apierr.WriteFiniteJSON(w, r, http.StatusOK, hits)
}

// readyPoint is ready plus the point id of the route; it has answered when
// ok is false.
func (f *feature) readyPoint(w http.ResponseWriter, r *http.Request) (store.Store, string, store.ID, bool) {
	st, name, ok := f.ready(w, r)
	if !ok {
		return nil, "", store.ID{}, false
	}
	id, err := store.ParseID(r.PathValue("id"))
	if err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_id", err.Error())
		return nil, "", store.ID{}, false
	}
	return st, name, id, true
}

func (f *feature) getPoint(w http.ResponseWriter, r *http.Request) {
	st, name, id, ok := f.readyPoint(w, r)
	if !ok {
		return
	}
	p, err := st.Get(r.Context(), name, id)
	if err != nil {
		storeError(w, r, err)
		return
	}
	if p.Payload == nil {
		p.Payload = map[string]any{}
	}
	apierr.WriteJSON(w, r, http.StatusOK, p)
}

func (f *feature) deletePoint(w http.ResponseWriter, r *http.Request) {
	st, name, id, ok := f.readyPoint(w, r)
	if !ok {
		return
	}
	n, err := st.DeletePoints(r.Context(), name, []store.ID{id})
	if err != nil {
		storeError(w, r, err)
		return
	}
	// Qdrant does not say whether the point was there: deleted is null
	var deleted any = n
	if n < 0 {
		deleted = nil
	}
	apierr.WriteJSON(w, r, http.StatusOK, map[string]any{"id": id, "deleted": deleted})
}

// backup writes a consistent snapshot of the embedded index into
// VECTOR_DATA_DIR/backups while the service keeps serving.
func (f *feature) backup(w http.ResponseWriter, r *http.Request) {
	st := f.currentStore()
	if st == nil {
		apierr.Error(w, r, http.StatusServiceUnavailable, "starting", "the vector group is still starting")
		return
	}
	d, ok := st.(*durable.Store)
	if !ok {
		apierr.Error(w, r, http.StatusConflict, "backup_unavailable",
			"backups are of the durable embedded index; this service uses "+st.Backend()+" (use Qdrant's own snapshots)")
		return
	}
	info, err := d.Backup()
	if err != nil {
		storeError(w, r, err)
		return
	}
	f.logger.Info("vector backup written", "path", info.Path, "bytes", info.Bytes, "points", info.Points)
	apierr.WriteJSON(w, r, http.StatusOK, info)
}
