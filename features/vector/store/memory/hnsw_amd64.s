#include "textflag.h"

// func prefetch(p *float32, n int)
// A prefetch is a hint: it never faults, so the last line may pass the end.
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	TESTQ CX, CX
	JLE  pdone

ploop:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	SUBQ $64, CX
	JG   ploop

pdone:
	RET
