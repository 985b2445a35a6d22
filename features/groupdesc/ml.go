package groupdesc

import "github.com/advanced-backend/advanced-backend/internal/groupspec"

// ML describes the ml group.
var ML = groupspec.Group{
	Name:            "ml",
	Description:     "local analytics: latency anomaly detection, baselines",
	Rank:            10,
	Variants:        []string{"full"},
	Package:         module + "/features/ml",
	RoutePrefixes:   []string{"/api/v2/ml"},
	Modules:         []string{"gonum.org/v1/gonum"},
	Heavy:           []string{"gonum", "sklearn"}, // sklearn: gonum/stat does the statistics the seed used scikit-learn for
	SettingPrefixes: []string{"ML_"},
	Smoke: []groupspec.SmokeCase{
		{Name: "ml detect", Method: "POST", Path: "/api/v2/ml/detect", Status: 200, ContentType: "application/json",
			Body: `{"series":[10,11,9,10,12,10,95,11,10,9,10],"method":"mad"}`, JSON: true, Contains: `"indices":[6]`},
		{Name: "ml detect NaN", Method: "POST", Path: "/api/v2/ml/detect", Status: 400, ContentType: "application/json",
			Body: `{"series":[1,"NaN",3],"method":"mad"}`, JSON: true},
		{Name: "ml anomalies", Method: "GET", Path: "/api/v2/ml/anomalies", Status: 200, JSON: true, Keys: []string{"routes"}},
	},
}

func init() { groupspec.Declare(ML) }
