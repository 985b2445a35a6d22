package groupdesc

import "github.com/advanced-backend/advanced-backend/internal/groupspec"

// Vector describes the vector group.
var Vector = groupspec.Group{
	Name:            "vector",
	Description:     "vector store (Qdrant or a durable embedded index), Redis cache and shared state",
	Rank:            30,
	Variants:        []string{"prodapi", "full"},
	Package:         module + "/features/vector",
	RoutePrefixes:   []string{"/api/v2/vector"},
	Modules:         []string{"github.com/qdrant/go-client", "google.golang.org/grpc", "github.com/redis/go-redis/v9", "github.com/go-redis/redis_rate/v10"},
	Heavy:           []string{"qdrant", "redis"},
	SettingPrefixes: []string{"QDRANT_", "REDIS_", "VECTOR_"},
	Smoke: []groupspec.SmokeCase{
		{Name: "vector unknown collection", Method: "GET", Path: "/api/v2/vector/collections/backendctl-smoke-absent",
			Status: 404, ErrorCode: "collection_not_found"},
		{Name: "vector search unknown collection", Method: "POST", Path: "/api/v2/vector/collections/backendctl-smoke-absent/search",
			Status: 404, ContentType: "application/json", Body: `{"vector":[1,0],"limit":1}`, ErrorCode: "collection_not_found"},
	},
}

func init() { groupspec.Declare(Vector) }
