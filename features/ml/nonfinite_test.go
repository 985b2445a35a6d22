package ml

import (
	"strings"
	"testing"
)

// TestOverflowIs422: finite inputs whose statistics overflow float64 are a
// 422 JSON error naming the field, never a 200 with an empty body.
func TestOverflowIs422(t *testing.T) {
	base := server(t, nil, nil)
	for _, body := range []string{
		`{"series":[-1.7e308,1.7e308,1.7e308]}`,
		`{"series":[1.7e308,1.7e308,1.7e308],"method":"zscore"}`,
		`{"series":[-1.7e308,1.7e308,-1.7e308,1.7e308],"method":"iqr"}`,
	} {
		code, m := call(t, "POST", base+"/api/v2/ml/detect", body)
		e, _ := m["error"].(map[string]any)
		if code != 422 || e["code"] != "non_finite_result" || !strings.Contains(errMsg(m), "result.") {
			t.Errorf("%s: %d %v", body, code, m)
		}
	}
	// Large but representable results still answer.
	if code, m := call(t, "POST", base+"/api/v2/ml/detect", `{"series":[1e300,1e300,1e300,1e300]}`); code != 200 {
		t.Errorf("large finite: %d %v", code, m)
	}
}
