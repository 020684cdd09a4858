// Command sotto is Sotto's single binary: the end-to-end encrypted
// inference server (`sotto serve`), its client (`sotto chat`), and the tools
// around them (keys, devices, models, benchmarks). Each subcommand lives in
// its own file and registers itself on the root command in init.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "sotto",
	Short:         "Sotto: private, end-to-end encrypted LLM inference",
	SilenceUsage:  true,
	SilenceErrors: true,
	Example: `  make run                          # or: sotto serve   (development: demo model, http://127.0.0.1:8080)
  sotto chat --dev                  # in a second terminal
  sotto doctor                      # check this host and the configuration
  sotto version                     # for bug reports`,
}

// run executes the command line and returns the process exit code. Errors
// are printed once, prefixed with the program name; they never carry
// request content (see docs/privacy.md).
func run() int {
	requireSubcommands(rootCmd)
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sotto:", err)
		return 1
	}
	return 0
}

func main() {
	os.Exit(run())
}
