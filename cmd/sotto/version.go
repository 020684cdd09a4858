package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// llamaCppCommit is the upstream llama.cpp commit the pinned Ollama
// module carries (third_party/README.md; a test keeps the two equal).
const llamaCppCommit = "ec98e20021f7611db3bbcf6bb6629fed6e1ce4f0"

// ollamaModule carries llama.cpp and ggml; its version is read from the
// build information.
const ollamaModule = "github.com/ollama/ollama"

var versionCmd = &cobra.Command{
	Use:   "version",
	Short: "Print the version, commit, llama.cpp pin and Go version (for bug reports)",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		info, _ := debug.ReadBuildInfo()
		return printVersion(cmd.OutOrStdout(), info)
	},
}

func init() { rootCmd.AddCommand(versionCmd) }

// printVersion writes one "name value" line per fact. A release build
// (make release: -buildvcs=false) has no commit stamp and says so.
func printVersion(w io.Writer, info *debug.BuildInfo) error {
	version, commit, ollama := "(devel)", "unknown (built without a VCS stamp, e.g. make release)", "unknown"
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			commit = rev
			if settings["vcs.modified"] == "true" {
				commit += " (modified)"
			}
			if t := settings["vcs.time"]; t != "" {
				commit += " " + t
			}
		}
		for _, d := range info.Deps {
			if d.Path == ollamaModule {
				ollama = d.Version
			}
		}
	}
	_, err := fmt.Fprintf(w, "sotto      %s\ncommit     %s\nllama.cpp  %s (via %s %s)\ngo         %s %s/%s\n",
		version, commit, llamaCppCommit, ollamaModule, ollama, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
