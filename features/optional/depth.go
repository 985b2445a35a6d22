package optional

import "fmt"

// maxNestingDepth bounds how deeply a registry file may nest collections,
// counting flow brackets and block indentation together. The format needs 3
// levels (section, route, field; a pretty-printed JSON file counts about
// twice that). The YAML parser's memory grows quadratically with depth:
// 64,000 '[' in 64 KB ended the process with a fatal out-of-memory, which
// no recover catches. So checkDepth refuses depth before anything parses.
const maxNestingDepth = 16

// checkDepth scans data once, without parsing, and refuses nesting deeper
// than maxNestingDepth, naming the line and column where it got too deep.
//
// It counts every '[' and '{' as one level in and every ']' and '}' as one
// out, wherever they stand (quoted strings and trailing comments included:
// telling those apart is the parser's job, and a mistake here must never
// undercount), plus block levels: each deeper indentation of a content
// line, and each "- " that opens a compact nested sequence. Lines that are
// only a comment are skipped. It can refuse a file with many unbalanced
// brackets inside strings; it never lets through what the parser would
// nest deeper.
func checkDepth(data []byte) *ParseError {
	var (
		line, col = 1, 0
		flow      int   // '[' and '{' not closed yet
		indents   []int // indentation of the open block levels, innermost last
		block     int   // block depth of the current line
		atStart   = true
		comment   bool // the current line is only a comment
		indent    int
		dashes    int
	)
	tooDeep := func() *ParseError {
		return &ParseError{Line: line, Column: col, Msg: fmt.Sprintf(
			"collections nested more than %d deep (brackets [ { and indentation counted together, also inside strings); a registry file needs 3",
			maxNestingDepth)}
	}
	for i := 0; i < len(data); i++ {
		b := data[i]
		col++
		if b == '\n' {
			line, col = line+1, 0
			atStart, comment, indent, dashes = true, false, 0, 0
			continue
		}
		if comment {
			continue
		}
		if atStart {
			switch {
			case b == ' ' || b == '\t' || b == '\r':
				indent++
				continue
			case b == '-' && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\r'):
				dashes++ // "- - x": each indicator opens a sequence
				indent++
				continue
			case b == '#' && dashes == 0:
				comment = true
				continue
			}
			atStart = false
			// The line's own level: pop the levels it is not inside, push
			// its indentation if it is deeper than the innermost.
			base := indent - 2*dashes
			for len(indents) > 0 && indents[len(indents)-1] > base {
				indents = indents[:len(indents)-1]
			}
			if len(indents) == 0 || indents[len(indents)-1] < base {
				indents = append(indents, base)
			}
			block = len(indents) + dashes
			if block+flow > maxNestingDepth {
				return tooDeep()
			}
		}
		switch b {
		case '[', '{':
			flow++
			if block+flow > maxNestingDepth {
				return tooDeep()
			}
		case ']', '}':
			if flow > 0 {
				flow--
			}
		}
	}
	return nil
}
