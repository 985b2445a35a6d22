package vector

import (
	"testing"
)

// TestOverflowingScoreIs422: dot and euclid scores of finite vectors near
// float32's limit overflow; the search answers 422, never 200 with an
// empty body, on every backend.
func TestOverflowingScoreIs422(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			waitReady(t, r.f)
			for _, d := range []string{"dot", "euclid"} {
				r.do(t, "PUT", "/"+d, `{"size":2,"distance":"`+d+`"}`).want(t, 201, `"created":true`)
				r.do(t, "POST", "/"+d+"/points", `[{"id":1,"vector":[3e38,3e38]}]`).want(t, 200, `"upserted":1`)
				q := `{"vector":[3e38,3e38]}`
				if d == "euclid" {
					q = `{"vector":[-3e38,-3e38]}`
				}
				r.do(t, "POST", "/"+d+"/search", q).want(t, 422, "non_finite_result")
				// finite scores still answer
				r.do(t, "POST", "/"+d+"/points", `[{"id":2,"vector":[1,1]}]`).want(t, 200, `"upserted":1`)
			}
		})
	}
}
