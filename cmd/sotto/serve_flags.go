package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/server/config"
)

// loadConfig reads the environment and the .env file; --role, --model and
// --port, when given, take the place of SOTTO_ROLE, SOTTO_MODEL and
// SOTTO_LISTEN's port (the names llama-server users try first).
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	lookup, err := dotEnvLookup(cmd, serveOpts.envFile)
	if err != nil {
		return config.Config{}, err
	}
	over := map[string]string{}
	if serveOpts.role != "" {
		over["SOTTO_ROLE"] = serveOpts.role
	}
	if cmd.Flags().Changed("model") {
		over["SOTTO_MODEL"] = serveOpts.model
	}
	if cmd.Flags().Changed("port") {
		if serveOpts.port < 1 || serveOpts.port > 65535 {
			return config.Config{}, hint{"--port must be between 1 and 65535",
				"pass a free port, e.g. --port 8081, or set SOTTO_LISTEN=host:port"}.wrap(errors.New("serve: bad --port"))
		}
		host := "127.0.0.1"
		if v, ok := lookup("SOTTO_LISTEN"); ok {
			if h, _, err := net.SplitHostPort(v); err == nil {
				host = h
			}
		}
		over["SOTTO_LISTEN"] = net.JoinHostPort(host, strconv.Itoa(serveOpts.port))
	}
	cfg, err := config.Load(func(name string) (string, bool) {
		if v, ok := over[name]; ok {
			return v, true
		}
		return lookup(name)
	})
	if err != nil {
		return cfg, hint{"the configuration has the problem(s) above",
			"fix the variables named (docs/operations.md); sotto config check lists every problem at once"}.wrap(err)
	}
	return cfg, nil
}

// checkModelFile refuses a model path that cannot be opened before the
// server listens, with what to do; llama.cpp's own error would come after
// the "listening" line, as a chain of package names.
func checkModelFile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err == nil {
		f.Close()
		return nil
	}
	what := "the model file " + path + " cannot be read"
	if errors.Is(err, fs.ErrNotExist) {
		what = "there is no model file at " + path
	}
	return hint{what, "download one (sotto model pull, or make model; docs/models.md) and pass its path with " +
		"--model or SOTTO_MODEL; in development, leave both unset for the embedded demo model"}.
		wrap(fmt.Errorf("serve: model: %w", err))
}
