package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/internal/locked"
)

// defaultKeyDir is the key directory of a packaged install (docs/keys.md).
const defaultKeyDir = "/var/lib/sotto/keys"

var keysOpts struct {
	dir     string
	suites  []string
	pin     bool
	json    bool
	overlap time.Duration
	now     string
}

var keysCmd = &cobra.Command{
	Use:   "keys",
	Short: "Create, rotate and show the server's key directory (docs/keys.md)",
}

var keysInitCmd = &cobra.Command{
	Use: "init [--dir D] [--suites x25519,xwing]",
	Example: `  sotto keys init --dir dev/keys
  sudo -u sotto sotto keys init --dir /var/lib/sotto/keys`,
	Short: "Create a key directory: signing key, and a current and a next key per suite",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		suites, err := parseSuites(keysOpts.suites)
		if err != nil {
			return err
		}
		now, err := keysNow()
		if err != nil {
			return err
		}
		budget, err := keysBudget()
		if err != nil {
			return err
		}
		if err := keys.Init(keysOpts.dir, suites, now, budget); err != nil {
			return err
		}
		return printKeys(cmd.OutOrStdout(), keysOpts.dir, now, budget)
	},
}

var keysRotateCmd = &cobra.Command{
	Use:   "rotate [--dir D] [--overlap 168h]",
	Short: "Promote each suite's next key, retire older keys, create new next keys",
	Long: "Rotate promotes each suite's next key to current now, shortens older current keys\n" +
		"to --overlap (7 days; 0 retires them at once, after a compromise), creates a new next key and deletes key files 30 days past\n" +
		"their not_after. A running server picks the change up on SIGHUP or by itself.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		budget, err := keysBudget()
		if err != nil {
			return err
		}
		now, err := keysNow()
		if err != nil {
			return err
		}
		if keysOpts.overlap < 0 {
			return fmt.Errorf("keys: --overlap must not be negative")
		}
		sched := keys.DefaultSchedule
		sched.Overlap = keysOpts.overlap
		if err := sched.Rotate(keysOpts.dir, now, budget); err != nil {
			return err
		}
		return printKeys(cmd.OutOrStdout(), keysOpts.dir, now, budget)
	},
}

var keysShowCmd = &cobra.Command{
	Use:   "show [--dir D] [--pin | --json]",
	Short: "Print the key directory's keys (as keys init prints them), --pin the signing public key, --json the signed key configuration",
	Example: `  sotto keys show --dir dev/keys              # the keys of make run
  sotto keys show --dir /var/lib/sotto/keys --pin   # the pin apps embed
  sotto keys show --json | jq .                # the signed document GET /api/pubkey serves`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		budget, err := keysBudget()
		if err != nil {
			return err
		}
		now, err := keysNow()
		if err != nil {
			return err
		}
		if !keysOpts.pin && !keysOpts.json {
			return printKeys(cmd.OutOrStdout(), keysOpts.dir, now, budget)
		}
		s, err := keys.Open(keysOpts.dir, budget)
		if err != nil {
			return keyDirError(keysOpts.dir, err)
		}
		defer s.Close()
		if keysOpts.pin {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "ed25519:"+base64.RawURLEncoding.EncodeToString(s.SigningPublicKey()))
			return err
		}
		doc, err := s.Document(now)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", doc)
		return err
	},
}

// printKeys lists the directory's keys: public facts only.
func printKeys(w io.Writer, dir string, now time.Time, budget *locked.Budget) error {
	s, err := keys.Open(dir, budget)
	if err != nil {
		return keyDirError(dir, err)
	}
	defer s.Close()
	pub := s.SigningPublicKey()
	fmt.Fprintf(w, "key directory %s\nsigning key %s (pin ed25519:%s)\n", dir,
		keyconfig.SigningKeyID(pub), base64.RawURLEncoding.EncodeToString(pub))
	for _, k := range s.Keys() {
		fmt.Fprintf(w, "key %3d  %-6s  %-7s  %s .. %s\n", k.ID(), k.Suite(), k.State(now),
			keyconfig.FormatTime(k.NotBefore()), keyconfig.FormatTime(k.NotAfter()))
	}
	return nil
}

// keysNow returns the time of the hidden --now flag (tests, and planning
// a schedule), or the current time.
func keysNow() (time.Time, error) {
	if keysOpts.now == "" {
		return time.Now(), nil
	}
	t, err := keyconfig.ParseTime(keysOpts.now)
	if err != nil {
		return time.Time{}, fmt.Errorf("keys: --now: %w", err)
	}
	return t, nil
}

// parseSuites maps suite names ("x25519", "xwing") to suites.
func parseSuites(names []string) ([]crypto.Suite, error) {
	var out []crypto.Suite
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "x25519":
			out = append(out, crypto.SuiteX25519)
		case "xwing", "x-wing":
			out = append(out, crypto.SuiteXWing)
		default:
			return nil, fmt.Errorf("keys: unknown suite (known: x25519, xwing)")
		}
	}
	return out, nil
}

// keysBudget returns the locked-memory budget of a key command.
func keysBudget() (*locked.Budget, error) {
	limit, err := locked.RaiseLimit()
	if err != nil {
		return nil, fmt.Errorf("keys: locked memory: %w", err)
	}
	return locked.NewBudget(limit), nil
}

func init() {
	for _, c := range []*cobra.Command{keysInitCmd, keysRotateCmd, keysShowCmd} {
		c.Flags().StringVar(&keysOpts.dir, "dir", defaultKeyDir, "key directory")
		c.Flags().StringVar(&keysOpts.now, "now", "", "act as if the time were `T` (YYYY-MM-DDTHH:MM:SSZ)")
		_ = c.Flags().MarkHidden("now")
		keysCmd.AddCommand(c)
	}
	keysInitCmd.Flags().StringSliceVar(&keysOpts.suites, "suites", []string{"x25519", "xwing"}, "suites to create keys for")
	keysRotateCmd.Flags().DurationVar(&keysOpts.overlap, "overlap", keys.DefaultSchedule.Overlap, "overlap of this rotation: older current keys expire this long from now, and the new next key is due this long before the promoted key expires")
	keysShowCmd.Flags().BoolVar(&keysOpts.pin, "pin", false, "print the signing public key apps pin, as ed25519:<b64u>")
	keysShowCmd.Flags().BoolVar(&keysOpts.json, "json", false, "print the signed key configuration document (what GET /api/pubkey serves)")
	keysShowCmd.MarkFlagsMutuallyExclusive("pin", "json")
	rootCmd.AddCommand(keysCmd)
}
