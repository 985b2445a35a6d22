package vector

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/advanced-backend/advanced-backend/features/vector/store/durable"
	"github.com/advanced-backend/advanced-backend/internal/capability"
)

// salvageCommand is `advanced-backend vector-salvage`: the recovery
// procedure for an embedded index that start-up refused as damaged (exit 2
// naming the file and offset). It copies every readable record into a new
// directory and reports what it skipped; the damaged directory is only read.
var salvageCommand = capability.Command{
	Name:  "vector-salvage",
	Usage: "--from DIR --to NEWDIR   copy every readable record of a damaged VECTOR_DATA_DIR into a new directory, reporting what was skipped (file, offset, bytes)",
	Run:   runSalvage,
}

// Exit codes of vector-salvage.
const (
	salvageOK     = 0
	salvageFailed = 1
	salvageUsage  = 2
)

func runSalvage(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vector-salvage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the damaged data directory (VECTOR_DATA_DIR); only read")
	to := fs.String("to", "", "a new directory (absent or empty) to write what is readable into")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: advanced-backend vector-salvage --from DIR --to NEWDIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return salvageOK
		}
		return salvageUsage
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "advanced-backend vector-salvage: --from and --to are required, and nothing else")
		fs.Usage()
		return salvageUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := durable.Salvage(ctx, *from, *to)
	if err != nil {
		fmt.Fprintf(stderr, "advanced-backend vector-salvage: %v\n", err)
		return salvageFailed
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(stdout, "skipped %s offset %d: %d bytes (%s)\n", s.File, s.Offset, s.Bytes, s.Reason)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "salvaged %s into %s: %d collections, %d points (%d snapshot records, %d log records, up to record %d); skipped %d stretches, %d bytes\n",
		rep.From, rep.To, rep.Collections, rep.Points, rep.SnapshotRecords, rep.LogRecords, rep.LastRecord, len(rep.Skipped), rep.SkippedBytes())
	fmt.Fprintf(stdout, "next: check it, then start the service with VECTOR_DATA_DIR=%s (keep %s until then)\n", rep.To, rep.From)
	return salvageOK
}
