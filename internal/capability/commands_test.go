package capability

import (
	"io"
	"strings"
	"testing"
)

// TestGroupCommands: a group's commands are found only while the group is
// registered (a variant without it does not carry them), and a command
// without a name or Run, or one another group brings, is refused at init.
func TestGroupCommands(t *testing.T) {
	withCleanRegistry(t)
	run := func([]string, io.Writer, io.Writer) int { return 7 }
	if _, ok := LookupCommand("vector-salvage"); ok {
		t.Fatal("a command without its group")
	}
	vector := fake("vector")
	vector.Commands = []Command{{Name: "vector-salvage", Usage: "--from DIR --to NEWDIR", Run: run}}
	if err := register(vector); err != nil {
		t.Fatal(err)
	}
	if c, ok := LookupCommand("vector-salvage"); !ok || c.Run(nil, nil, nil) != 7 || len(LinkedCommands()) != 1 {
		t.Fatalf("LookupCommand: %+v %t", c, ok)
	}
	for _, tc := range []struct {
		cmds []Command
		want string
	}{
		{[]Command{{Name: "vector-salvage", Run: run}}, "is group vector's"},
		{[]Command{{Name: "x", Run: run}, {Name: "x", Run: run}}, "declared twice"},
		{[]Command{{Name: "", Run: run}}, "no name"},
		{[]Command{{Name: "y"}}, "no Run"},
	} {
		ml := fake("ml")
		ml.Commands = tc.cmds
		if err := register(ml); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cmds, err, tc.want)
		}
	}
}
