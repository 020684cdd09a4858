package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/server/config"
)

var doctorOpts struct {
	envFile string
	user    string
}

var doctorCmd = &cobra.Command{
	Use: "doctor [--env-file F] [--user U]",
	Example: `  sotto doctor                                        # development, in the directory of make run
  sudo -u sotto sotto doctor --env-file /etc/sotto/sotto.env`,
	Short: "Check this host and the configuration before serving",
	Long: `Check what the server cannot fix itself, one line per finding with what to
do: swap, core dumps, the locked-memory limit against what the configuration
needs, the key directory's and allow-list's permissions, clock
synchronization, the CPU's features against the build's SIMD flags, and the
model file. Run it as the server runs (same user and limits, e.g.
sudo -u sotto), with the server's configuration. Exit status 1 when a
finding is FAIL; WARN findings do not fail.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		lookup, err := dotEnvLookup(cmd, doctorOpts.envFile)
		if err != nil {
			return err
		}
		cfg, cfgErr := config.Check(lookup)
		return doctor(cmd.OutOrStdout(), realHost(doctorOpts.user), cfg, cfgErr)
	},
}

func init() {
	doctorCmd.Flags().StringVar(&doctorOpts.envFile, "env-file", ".env", envFileUsage)
	doctorCmd.Flags().StringVar(&doctorOpts.user, "user", "sotto", "the service user that must own the keys (the current user when it does not exist)")
	rootCmd.AddCommand(doctorCmd)
}

// finding is one line of the doctor's report.
type finding struct {
	level string // "ok", "WARN" or "FAIL"
	check string
	what  string
	fix   string // what to do; empty for ok
}

func ok(check, what string) finding        { return finding{"ok", check, what, ""} }
func warn(check, what, fix string) finding { return finding{"WARN", check, what, fix} }
func fail(check, what, fix string) finding { return finding{"FAIL", check, what, fix} }

func (f finding) String() string {
	s := fmt.Sprintf("%-4s %s: %s", f.level, f.check, f.what)
	if f.fix != "" {
		s += " -> " + f.fix
	}
	return s
}

// errDoctorFailed is returned when a finding is FAIL.
var errDoctorFailed = errors.New("doctor: at least one check failed (FAIL lines above)")

// doctor runs every check and prints one line per finding.
func doctor(w io.Writer, h host, cfg config.Config, cfgErr error) error {
	var fs []finding
	if cfgErr != nil {
		fs = append(fs, fail("configuration", fmt.Sprintf("%d problem(s)", len(unwrapAll(cfgErr))), "run sotto config check"))
	} else {
		fs = append(fs, ok("configuration", "valid ("+string(cfg.Environment)+", role "+string(cfg.Role)+")"))
	}
	fs = append(fs, h.checkSwap(), h.checkCores(), h.checkClock(), h.checkCPU())
	dev := cfg.Environment == config.Development
	if cfg.Role != config.RoleRouter {
		fs = append(fs, h.checkModel(cfg.Model, dev, cfg.ModelSHA256), h.checkKeyDir(cfg.KeyDir, dev))
	}
	fs = append(fs, h.checkMemlock(cfg))
	if cfg.Role == config.RoleRouter && cfg.RedisURL != "" {
		fs = append(fs, checkRedis(cfg))
	}
	if cfg.DevicePolicy == config.AllowList && cfg.Role != config.RoleWorker {
		fs = append(fs, h.checkAllowList(cfg.AllowList, dev))
	}
	failed := false
	for _, f := range fs {
		fmt.Fprintln(w, f)
		failed = failed || f.level == "FAIL"
	}
	if failed {
		return errDoctorFailed
	}
	return nil
}
