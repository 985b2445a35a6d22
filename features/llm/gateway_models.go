package llm

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// v1Model is one entry of GET /v1/models.
type v1Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// modelList lists the routed models of the configured providers, with
// their provider prefix. A provider/* entry lists that provider's default
// model (any other name is routed too, but cannot be listed).
func (f *feature) modelList() []v1Model {
	f.mu.RLock()
	configured := map[string]bool{}
	for n := range f.clients {
		configured[n] = true
	}
	f.mu.RUnlock()
	var ids []string
	add := func(id string) {
		for _, x := range ids {
			if x == id {
				return
			}
		}
		ids = append(ids, id)
	}
	if len(f.cfg.Models) == 0 {
		for _, p := range providerNames {
			add(p + "/" + f.defaultModel(p))
			if p == upstream.OpenAI {
				add(p + "/" + f.cfg.EmbeddingModel)
			}
		}
	} else {
		for _, m := range f.cfg.Models {
			p, name, _ := strings.Cut(m, "/")
			if name == "*" {
				name = f.defaultModel(p)
			}
			add(p + "/" + name)
		}
	}
	out := []v1Model{}
	for _, id := range ids {
		p, _, _ := strings.Cut(id, "/")
		if configured[p] {
			out = append(out, v1Model{ID: id, Object: "model", OwnedBy: p})
		}
	}
	return out
}

func (f *feature) v1Models(w http.ResponseWriter, req *http.Request) {
	apierr.WriteJSON(w, req, http.StatusOK, map[string]any{"object": "list", "data": f.modelList()})
}

// v1Model answers GET /v1/models/{id}; the id may hold a slash
// (openai/gpt-4o-mini), sent as is or percent-encoded.
func (f *feature) v1Model(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	rt, e := f.routeModel(id, false)
	if e != nil {
		e.abort(w)
		return
	}
	apierr.WriteJSON(w, req, http.StatusOK, v1Model{ID: rt.prov + "/" + rt.model, Object: "model", OwnedBy: rt.prov})
}

type v1EmbedRequest struct {
	Input          json.RawMessage `json:"input"`
	Model          string          `json:"model"`
	EncodingFormat string          `json:"encoding_format"`
	User           string          `json:"user"`
}

type v1Embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

// v1Embeddings answers POST /v1/embeddings through the same embed path as
// /api/v2/llm/embeddings (cache, retries, metrics). Token-array inputs and
// dimensions are refused, naming the field.
func (f *feature) v1Embeddings(w http.ResponseWriter, req *http.Request) {
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	var probe map[string]json.RawMessage
	if !decodeV1(w, body, &probe) || !checkKeys(w, body, openaicompat.EmbeddingFields) {
		return
	}
	for k := range probe {
		switch k {
		case "input", "model", "encoding_format", "user":
		default:
			badRequest(k, "%s: not supported by this gateway", k).abort(w)
			return
		}
	}
	var r v1EmbedRequest
	if !decodeV1(w, body, &r) {
		return
	}
	var inputs []string
	if json.Unmarshal(r.Input, &inputs) != nil {
		var one string
		if json.Unmarshal(r.Input, &one) != nil {
			badRequest("input", "input: want a string or an array of strings (token arrays are not supported)").abort(w)
			return
		}
		inputs = []string{one}
	}
	if msg := checkInputs(inputs, ""); msg != "" {
		badRequest("input", "%s", msg).abort(w)
		return
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		badRequest("encoding_format", "encoding_format: want float or base64, got %q", r.EncodingFormat).abort(w)
		return
	}
	rt, e := f.routeModel(r.Model, true)
	if e != nil {
		e.abort(w)
		return
	}
	resp, err := f.embed(req.Context(), inputs, rt.model)
	if errors.Is(err, errEmbedNotReady) {
		apierr.OpenAIError(w, http.StatusServiceUnavailable, "provider_not_ready", "", err.Error())
		return
	}
	if err != nil {
		f.abortV1(w, err)
		return
	}
	data := make([]v1Embedding, len(resp.Data))
	for i, d := range resp.Data {
		data[i] = v1Embedding{Object: "embedding", Index: d.Index, Embedding: d.Embedding}
		if r.EncodingFormat == "base64" {
			data[i].Embedding = base64Floats(d.Embedding)
		}
	}
	apierr.WriteJSON(w, req, http.StatusOK, map[string]any{"object": "list", "data": data, "model": resp.Model,
		"usage": map[string]any{"prompt_tokens": resp.Usage.PromptTokens, "total_tokens": resp.Usage.TotalTokens}})
}

// base64Floats encodes a vector as OpenAI does for encoding_format=base64:
// little-endian float32s.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}
