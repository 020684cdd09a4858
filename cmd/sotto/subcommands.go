package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// requireSubcommands makes every command that only groups subcommands
// (keys, device, config, ...) refuse an unknown or missing subcommand with
// an error, as the root command does: cobra would print the group's help
// and exit 0, so a script "revoking" a device with a command that does not
// exist would report success. It walks the tree, so groups added later
// are covered too.
func requireSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() || !c.HasParent() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		return hint{fmt.Sprintf("%q is not a subcommand of %s", args[0], cmd.CommandPath()),
			"run " + cmd.CommandPath() + " --help for the list: " + subcommandNames(cmd)}.
			wrap(fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()))
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return hint{cmd.CommandPath() + " needs a subcommand",
			"run one of: " + subcommandNames(cmd) + " (" + cmd.CommandPath() + " --help says what each does)"}.
			wrap(fmt.Errorf("missing subcommand for %q", cmd.CommandPath()))
	}
}

// subcommandNames lists c's visible subcommands, comma-separated.
func subcommandNames(c *cobra.Command) string {
	s := ""
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += sub.Name()
	}
	return s
}
