package groupdesc

import "github.com/advanced-backend/advanced-backend/internal/groupspec"

// LLM describes the llm group. Its one module is go-openai, whose types it
// reads OpenAI's answers, chunks and embeddings with; requests go out over
// its own net/http path (features/llm/upstream; DESIGN.md, "One upstream
// path per provider").
var LLM = groupspec.Group{
	Name:            "llm",
	Description:     "chat, streaming and embeddings against OpenAI-compatible and Anthropic APIs",
	Rank:            20,
	Variants:        []string{"hybrid", "full"},
	Package:         module + "/features/llm",
	RoutePrefixes:   []string{"/api/v2/llm", "/v1"},
	OpenAIPrefixes:  []string{"/v1"},
	Modules:         []string{"github.com/sashabaranov/go-openai"},
	Heavy:           []string{"openai", "anthropic"},
	SettingPrefixes: []string{"OPENAI_", "ANTHROPIC_", "LLM_"},
	Smoke: []groupspec.SmokeCase{
		{Name: "llm providers", Method: "GET", Path: "/api/v2/llm/providers", Status: 200, JSON: true},
		{Name: "llm chat bad JSON", Method: "POST", Path: "/api/v2/llm/chat", Status: 400, ContentType: "application/json",
			Body: `{"messages":`, JSON: true},
		{Name: "llm /v1 models", Method: "GET", Path: "/v1/models", Status: 200, JSON: true, Keys: []string{"object", "data"}},
		{Name: "llm /v1 chat bad JSON", Method: "POST", Path: "/v1/chat/completions", Status: 400, ContentType: "application/json",
			Body: `{"messages":`, ErrorCode: "invalid_json"},
	},
}

func init() { groupspec.Declare(LLM) }
