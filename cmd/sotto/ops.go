package main

import "github.com/spf13/cobra"

// opsCmd groups the commands that write deployment files for a cluster
// (docs/deployment.md#router-and-workers).
var opsCmd = &cobra.Command{
	Use:   "ops",
	Short: "Write deployment files for a router and its workers",
}

func init() { rootCmd.AddCommand(opsCmd) }
