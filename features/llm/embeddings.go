package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// maxEmbedInputs bounds the inputs of one embeddings request.
const maxEmbedInputs = 256

type embedRequest struct {
	Input []string `json:"input"`
	Model string   `json:"model"`
}

type embedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// embedResponse follows the OpenAI embeddings answer.
type embedResponse struct {
	Object string         `json:"object"`
	Data   []embedding    `json:"data"`
	Model  string         `json:"model"`
	Usage  provider.Usage `json:"usage"`
	Cached bool           `json:"cached"`
}

// errEmbedNotReady marks an embedder that cannot serve (for a 503).
var errEmbedNotReady = errors.New("embeddings not available")

func checkInputs(inputs []string, model string) string {
	if len(inputs) == 0 {
		return "input: want at least one string"
	}
	if len(inputs) > maxEmbedInputs {
		return fmt.Sprintf("input: at most %d strings, got %d", maxEmbedInputs, len(inputs))
	}
	for i, s := range inputs {
		if s == "" {
			return fmt.Sprintf("input[%d]: must not be empty", i)
		}
	}
	if len(model) > maxModelName {
		return fmt.Sprintf("model: at most %d characters", maxModelName)
	}
	return ""
}

// embed runs one embeddings call through the cache, retries and metrics.
func (f *feature) embed(ctx context.Context, inputs []string, model string) (embedResponse, error) {
	if model == "" {
		model = f.cfg.EmbeddingModel
	}
	client, why := f.embedClient()
	if client == nil {
		return embedResponse{}, fmt.Errorf("%w: %s", errEmbedNotReady, why)
	}
	key := embedCacheKey(model, inputs)
	var resp embedResponse
	if f.cacheGet(ctx, "embed", key, &resp) {
		resp.Cached = true
		return resp, nil
	}
	var vecs [][]float32
	var usage provider.Usage
	_, err := f.call(ctx, upstream.OpenAI, model, func(ctx context.Context) error {
		var err error
		vecs, usage, err = client.Embed(ctx, inputs, model)
		return err
	})
	if err != nil {
		return embedResponse{}, err
	}
	f.metrics.usage(upstream.OpenAI, model, usage)
	resp = embedResponse{Object: "list", Model: model, Usage: usage, Data: make([]embedding, len(vecs))}
	for i, v := range vecs {
		resp.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
	}
	f.cacheSet(ctx, "embed", key, resp)
	return resp, nil
}

func (f *feature) embeddings(w http.ResponseWriter, req *http.Request) {
	var r embedRequest
	if !apierr.ReadJSON(w, req, &r) {
		return
	}
	if msg := checkInputs(r.Input, r.Model); msg != "" {
		apierr.Error(w, req, http.StatusBadRequest, "bad_request", msg)
		return
	}
	resp, err := f.embed(req.Context(), r.Input, r.Model)
	if errors.Is(err, errEmbedNotReady) {
		apierr.Error(w, req, http.StatusServiceUnavailable, "provider_not_ready", err.Error())
		return
	}
	if err != nil {
		abortUpstream(w, req, err)
		return
	}
	apierr.WriteJSON(w, req, http.StatusOK, resp)
}

// providers lists the providers and whether each can serve.
func (f *feature) providers(w http.ResponseWriter, req *http.Request) {
	type entry struct {
		Name   string `json:"name"`
		Ready  bool   `json:"ready"`
		Model  string `json:"default_model"`
		Detail string `json:"detail,omitempty"`
	}
	out := []entry{}
	for _, n := range providerNames {
		_, p, why := f.lookup(n)
		out = append(out, entry{Name: n, Ready: p != nil, Model: f.defaultModel(n), Detail: why})
	}
	apierr.WriteJSON(w, req, http.StatusOK, map[string]any{"providers": out, "embedding_model": f.cfg.EmbeddingModel})
}

// embedder is the groupapi.Embedder llm offers the vector group.
type embedder struct{ f *feature }

// Embed embeds any number of inputs, in upstream calls of at most
// maxEmbedInputs each.
func (e embedder) Embed(ctx context.Context, inputs []string, model string) ([][]float32, error) {
	if len(inputs) == 0 {
		return nil, errors.New("input: want at least one string")
	}
	out := make([][]float32, 0, len(inputs))
	for start := 0; start < len(inputs); start += maxEmbedInputs {
		batch := inputs[start:min(start+maxEmbedInputs, len(inputs))]
		if msg := checkInputs(batch, model); msg != "" {
			return nil, errors.New(msg)
		}
		resp, err := e.f.embed(ctx, batch, model)
		if err != nil {
			return nil, err
		}
		for _, d := range resp.Data {
			out = append(out, d.Embedding)
		}
	}
	return out, nil
}

// Ready is false while the llm group is switched off at run time, so the
// vector group tells that apart without knowing the llm group by name.
func (e embedder) Ready() bool {
	if e.f.enabled != nil && !e.f.enabled() {
		return false
	}
	c, _ := e.f.embedClient()
	return c != nil
}
