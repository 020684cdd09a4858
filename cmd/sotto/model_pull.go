package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sottolabs/sotto/internal/modelpull"
)

var pullOpts struct {
	dir  string
	list bool
}

var modelPullCmd = &cobra.Command{
	Use:   "pull [NAME]",
	Short: "Download a pinned model into ./models and verify its sha256",
	Long: "pull downloads a model of the catalogue (--list) into --dir, resuming an\n" +
		"interrupted download, and verifies its size and sha256 before giving it its\n" +
		"final name (a mismatch deletes it). NAME defaults to " + modelpull.Catalogue[0].Name + ".\n" +
		"The file's path is printed on standard output; progress goes to standard\n" +
		"error. make run serves the first models/*.gguf. See docs/models.md.",
	Args: cobra.MaximumNArgs(1),
	RunE: runModelPull,
}

func runModelPull(cmd *cobra.Command, args []string) error {
	if pullOpts.list {
		return listCatalogue(cmd)
	}
	name := modelpull.Catalogue[0].Name
	if len(args) == 1 {
		name = args[0]
	}
	e, err := modelpull.Lookup(name)
	if err != nil {
		return err
	}
	// Ctrl-C stops the transfer; the partial file is kept for a resume.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errOut := cmd.ErrOrStderr()
	f, isFile := errOut.(*os.File)
	path, err := modelpull.Pull(ctx, e, pullOpts.dir, modelpull.Options{
		Out:      errOut,
		Terminal: isFile && term.IsTerminal(int(f.Fd())),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), path)
	return nil
}

func listCatalogue(cmd *cobra.Command) error {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSIZE\tLICENCE\tABOUT")
	for _, e := range modelpull.Catalogue {
		fmt.Fprintf(w, "%s\t%.0f MB\t%s\t%s\n", e.Name, float64(e.Size)/1e6, e.Licence, e.About)
	}
	return w.Flush()
}

func init() {
	f := modelPullCmd.Flags()
	f.StringVar(&pullOpts.dir, "dir", "models", "directory to download into")
	f.BoolVar(&pullOpts.list, "list", false, "list the catalogue and exit")
	modelCmd.AddCommand(modelPullCmd)
}
