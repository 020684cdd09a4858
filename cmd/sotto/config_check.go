package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/server/config"
)

var configEnvFile string

var configCmd = &cobra.Command{
	Use:   "config",
	Short: "Inspect the server's configuration",
}

var configCheckCmd = &cobra.Command{
	Use: "check [--env-file F]",
	Example: `  sotto config check
  sotto config check --env-file /etc/sotto/sotto.env`,
	Short: "Print the effective configuration and every problem in it",
	Long: `Read the configuration exactly as sotto serve does (the environment, backed
by the .env file), print every variable's effective value as VAR=value
(secrets masked), then every problem at once on stderr. Exit status 1 when
there is a problem. Variables: docs/operations.md.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		lookup, err := dotEnvLookup(cmd, configEnvFile)
		if err != nil {
			return err
		}
		return configCheck(cmd.OutOrStdout(), cmd.ErrOrStderr(), lookup)
	},
}

func init() {
	configCheckCmd.Flags().StringVar(&configEnvFile, "env-file", ".env", envFileUsage)
	configCmd.AddCommand(configCheckCmd)
	rootCmd.AddCommand(configCmd)
}

// errConfigInvalid is returned after the problems have been printed.
var errConfigInvalid = errors.New("config: the configuration has problems (listed above)")

func configCheck(stdout, stderr io.Writer, lookup config.Lookup) error {
	cfg, checkErr := config.Check(lookup)
	for _, s := range config.Effective(cfg) {
		fmt.Fprintf(stdout, "%s=%s\n", s.Var, s.Value)
	}
	if checkErr == nil {
		return nil
	}
	n := 0
	for _, e := range unwrapAll(checkErr) {
		fmt.Fprintln(stderr, e)
		n++
	}
	fmt.Fprintf(stderr, "%d problem(s)\n", n)
	return errConfigInvalid
}

// unwrapAll lists the errors an errors.Join holds.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
