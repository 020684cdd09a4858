package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/server/config"
)

// envFileUsage is the --env-file flag's help, the same for serve, config
// check and doctor.
const envFileUsage = "dotenv file read before the environment (the environment wins); the default .env may be missing, a file named here must exist; \"\" for none"

// dotEnvLookup is the environment backed by the --env-file file, as serve,
// config check and doctor read it. The default .env may be missing; a
// file named on the command line must exist (a deployment's own
// `config check --env-file /etc/sotto/sotto.env` must not pass when the
// file is not there).
func dotEnvLookup(cmd *cobra.Command, path string) (config.Lookup, error) {
	if f := cmd.Flags().Lookup("env-file"); f != nil && f.Changed && path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, hint{"the --env-file " + path + " cannot be read",
				"check the path, or leave --env-file out to read ./.env when it exists (--env-file \"\" reads none)"}.
				wrap(fmt.Errorf("config: --env-file: %w", err))
		}
	}
	return config.WithDotEnv(os.LookupEnv, path)
}
