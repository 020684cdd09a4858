package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/internal/harden"
	"github.com/sottolabs/sotto/internal/node"
	"github.com/sottolabs/sotto/llama"
	"github.com/sottolabs/sotto/server/config"
)

var serveEnvFile, serveRole string

var serveCmd = &cobra.Command{
	Use:   "serve",
	Short: "Serve the end-to-end encrypted chat API",
	Long: `Serve POST /api/chat, GET /api/pubkey, /health and /metrics.

Configuration comes from the environment (and a .env file); see
docs/operations.md. The process re-executes itself once with glibc malloc
tunables that wipe freed memory, disables core dumps, and keeps every
plaintext in locked memory.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context()) },
}

func init() {
	serveCmd.Flags().StringVar(&serveEnvFile, "env-file", ".env", "dotenv file read before the environment (the environment wins)")
	serveCmd.Flags().StringVar(&serveRole, "role", "", "all (one node), worker or router (docs/deployment.md); overrides SOTTO_ROLE")
	rootCmd.AddCommand(serveCmd)
}

func serve(ctx context.Context) error {
	if err := harden.ReexecWithMallocTunables(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := harden.Apply(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	debugVars, err := harden.ClearDebugEnv()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	plan := node.PlanFor(cfg)
	log := newLogger(plan.Log)
	slog.SetDefault(log) // packages that log through slog's default (keys, device) share format and level
	setLlamaLogLevel(plan.Log.Level)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	for _, name := range debugVars {
		log.Warn("llama.cpp debug variable cleared: it would log request content", "variable", name)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	n, err := node.New(plan, log)
	if err != nil {
		return err
	}
	defer n.Close() // after Run has returned: cancel, wait, free
	return n.Run(ctx)
}

// loadConfig reads the environment and the .env file; --role, when
// given, takes the place of SOTTO_ROLE.
func loadConfig() (config.Config, error) {
	lookup, err := config.WithDotEnv(os.LookupEnv, serveEnvFile)
	if err != nil {
		return config.Config{}, err
	}
	if serveRole != "" {
		inner := lookup
		lookup = func(name string) (string, bool) {
			if name == "SOTTO_ROLE" {
				return serveRole, true
			}
			return inner(name)
		}
	}
	return config.Load(lookup)
}

func newLogger(p node.LogPlan) *slog.Logger {
	opts := &slog.HandlerOptions{Level: p.Level}
	if !p.JSON {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// setLlamaLogLevel routes llama.cpp's own log: metadata (tensor lists,
// timings), never content, but noisy. It shows only at debug level, else
// warnings and errors.
func setLlamaLogLevel(level slog.Level) {
	if level <= slog.LevelDebug {
		llama.SetLogLevel(slog.LevelDebug)
		return
	}
	llama.SetLogLevel(max(level, slog.LevelWarn))
}
