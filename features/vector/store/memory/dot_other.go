//go:build !amd64

package memory

func dotI8(q []int16, c []int8) int32 { return dotI8Go(q, c) }

const useAVX2 = false
