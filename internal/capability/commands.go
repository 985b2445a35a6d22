package capability

import (
	"fmt"
	"io"
	"slices"
)

// Command is a subcommand a group brings to the advanced-backend binary
// (advanced-backend <Name> [flags]), such as an offline repair tool for the
// group's data. It is linked with its group only: a variant without the
// group neither carries nor lists it. It runs instead of the service,
// with its own flags.
type Command struct {
	Name string
	// Usage is one line: the flags and what the command does.
	Usage string
	// Run gets the arguments after the name and returns the exit code
	// (0 done, 1 failed, 2 bad arguments).
	Run func(args []string, stdout, stderr io.Writer) int
}

// checkCommands refuses a command without a name or a Run, and a name that
// a registered group already brings.
func checkCommands(cmds []Command, registered map[string]GroupInfo) error {
	for i, c := range cmds {
		if c.Name == "" || c.Run == nil {
			return fmt.Errorf("command %d: no name or no Run", i)
		}
		if slices.ContainsFunc(cmds[:i], func(o Command) bool { return o.Name == c.Name }) {
			return fmt.Errorf("command %q declared twice", c.Name)
		}
		for g, info := range registered {
			if slices.ContainsFunc(info.Commands, func(o Command) bool { return o.Name == c.Name }) {
				return fmt.Errorf("command %q is group %s's", c.Name, g)
			}
		}
	}
	return nil
}

// LinkedCommands returns the commands of the registered groups, in table
// order.
func LinkedCommands() []Command {
	linked := Linked()
	var out []Command
	for _, name := range linkedNames(linked) {
		out = append(out, linked[name].Commands...)
	}
	return out
}

// LookupCommand finds a linked group's command by name.
func LookupCommand(name string) (Command, bool) {
	for _, c := range LinkedCommands() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}
