//go:build !amd64

package memory

func dotI8(q []int16, c []int8) int32 { return dotI8Go(q, c) }

func dotF32(a, b []float32) float32 { return dotF32Go(a, b) }

const useAVX2, useFMA = false, false
