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
)

var serveOpts struct {
	envFile, role, model string
	port                 int
}

var serveCmd = &cobra.Command{
	Use:   "serve [--model F] [--port N] [--env-file F]",
	Short: "Serve the end-to-end encrypted chat API",
	Long: `Serve POST /api/chat, GET /api/pubkey, /health and /metrics.

Configuration comes from the environment (and a .env file); every
variable is in docs/operations.md. The main ones, with their defaults in
development (ENVIRONMENT=development, the default):
  SOTTO_LISTEN=127.0.0.1:8080      plain HTTP on loopback (--port changes the port)
  SOTTO_MODEL=                     the embedded demo model (--model, -m)
  SOTTO_KEY_DIR=./dev/keys         created on first start
  SOTTO_ALLOW_LIST=./dev/allow-list  created on first start with one
                                   development device, ./dev/device.key
  LOG_LEVEL=info LOG_FORMAT=auto   text at a terminal, JSON otherwise
In production (ENVIRONMENT=production) the model, key directory, allow-list
and metrics listener must be set; sotto config check shows the result.

The process re-executes itself once with glibc malloc tunables that wipe
freed memory, disables core dumps, and keeps every plaintext in locked
memory. The allow-list is re-read when its file changes; SIGHUP also
re-reads the keys and certificates.`,
	Example: `  sotto serve                                  # development: demo model, http://127.0.0.1:8080
  sotto serve -m models/qwen2.5-0.5b-instruct-q4_k_m.gguf --port 8081
  ENVIRONMENT=production sotto serve --env-file /etc/sotto/sotto.env`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd) },
}

func init() {
	f := serveCmd.Flags()
	f.StringVar(&serveOpts.envFile, "env-file", ".env", envFileUsage)
	f.StringVar(&serveOpts.role, "role", "", "all (one node), worker or router (docs/deployment.md); overrides SOTTO_ROLE")
	f.StringVarP(&serveOpts.model, "model", "m", "", "GGUF model file; overrides SOTTO_MODEL")
	f.IntVar(&serveOpts.port, "port", 0, "port of the public listener, on SOTTO_LISTEN's host (default 127.0.0.1); overrides SOTTO_LISTEN's port")
	rootCmd.AddCommand(serveCmd)
}

func serve(cmd *cobra.Command) error {
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
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if err := checkModelFile(cfg.Model); err != nil {
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
	ctx := cmd.Context()
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

func newLogger(p node.LogPlan) *slog.Logger {
	opts := &slog.HandlerOptions{Level: p.Level}
	if !logJSON(p, isTerminal(os.Stderr)) {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// logJSON decides the log encoding: LOG_FORMAT, and for auto in
// development text for a person at a terminal, JSON for the journal or a
// pipe.
func logJSON(p node.LogPlan, terminal bool) bool {
	return p.JSON && !(p.TextOnTerminal && terminal)
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
