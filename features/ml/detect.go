package ml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

type detectRequest struct {
	Series    json.RawMessage `json:"series"`
	Method    Method          `json:"method"`
	Threshold *float64        `json:"threshold"`
}

// errSeriesTooLong is answered with 413.
var errSeriesTooLong = errors.New("series too long")

// detect serves POST /api/v2/ml/detect.
func (f *feature) detect(w http.ResponseWriter, r *http.Request) {
	var req detectRequest
	if !apierr.ReadJSON(w, r, &req) {
		return
	}
	if req.Method == "" {
		req.Method = MethodMAD
	}
	switch req.Method {
	case MethodMAD, MethodZScore, MethodIQR:
	default:
		apierr.Error(w, r, http.StatusBadRequest, "bad_method", fmt.Sprintf("method %q: want mad, zscore or iqr", req.Method))
		return
	}
	threshold := 0.0
	if req.Threshold != nil {
		threshold = *req.Threshold
		if !(threshold > 0) || threshold > 1e6 {
			apierr.Error(w, r, http.StatusBadRequest, "bad_threshold", fmt.Sprintf("threshold %g: want a number in (0, 1e6]", threshold))
			return
		}
	}
	series, err := parseSeries(req.Series, f.maxSeries)
	if errors.Is(err, errSeriesTooLong) {
		apierr.Error(w, r, http.StatusRequestEntityTooLarge, "series_too_long", err.Error())
		return
	}
	if err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_series", err.Error())
		return
	}
	d, err := Detect(series, req.Method, threshold)
	if err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_series", err.Error())
		return
	}
	apierr.WriteFiniteJSON(w, r, http.StatusOK, d)
}

// parseSeries reads a JSON array of finite numbers, at most max of them.
// JSON has no NaN or Infinity literal, so clients send them as strings or as
// numbers beyond float64 (1e999); both are refused with the index named.
func parseSeries(raw json.RawMessage, max int) ([]float64, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errors.New("series is required: an array of finite numbers")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, errors.New("series must be an array of finite numbers")
	}
	var out []float64
	for i := 0; ; i++ {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, errors.New("series: unterminated array")
		}
		if err != nil {
			return nil, fmt.Errorf("series[%d]: %v", i, err)
		}
		if tok == json.Delim(']') {
			return out, nil
		}
		if i >= max {
			return nil, fmt.Errorf("%w: more than %d values (ML_MAX_SERIES)", errSeriesTooLong, max)
		}
		switch v := tok.(type) {
		case json.Number:
			x, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsInf(x, 0) {
				return nil, fmt.Errorf("series[%d]: %s is out of the float64 range: want finite numbers", i, v)
			}
			out = append(out, x)
		case string:
			return nil, fmt.Errorf("series[%d]: %q is a string: want finite numbers (NaN and Infinity are not accepted)", i, v)
		case nil:
			return nil, fmt.Errorf("series[%d]: null: want finite numbers", i)
		default:
			return nil, fmt.Errorf("series[%d]: want a finite number, got %v", i, describeToken(tok))
		}
	}
}

func describeToken(tok json.Token) string {
	switch tok.(type) {
	case bool:
		return "a boolean"
	case json.Delim:
		return "an array or object"
	}
	return fmt.Sprintf("%v", tok)
}
