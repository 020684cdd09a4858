package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/internal/gguf"
	"github.com/sottolabs/sotto/internal/synth"
)

var modelCmd = &cobra.Command{
	Use:   "model",
	Short: "Download pinned models, inspect GGUF files, synthesize random-weight ones",
}

var modelInfoCmd = &cobra.Command{
	Use:   "info FILE",
	Short: "Print a GGUF model's header facts as JSON (never reads weights)",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		f, err := gguf.Open(args[0])
		if err != nil {
			return err
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(f.Summary())
	},
}

// synthFlags are the flags of `sotto model synth`; zero dimensions keep
// the preset's.
type synthFlags struct {
	preset, typ, vocab, template, name, out string
	seed                                    uint64
	embd, layers, ff, heads, headsKV, ctx   int
	nVocab                                  int
}

var synthOpts synthFlags

var modelSynthCmd = &cobra.Command{
	Use:   "synth --preset P --out FILE",
	Short: "Write a llama GGUF model with random weights (its output is noise)",
	Long: "Write a llama-architecture GGUF model with deterministic random weights.\n" +
		"Presets: " + strings.Join(synth.PresetNames(), ", ") + ". See docs/models.md.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		c, err := synthOpts.config()
		if err != nil {
			return err
		}
		if err := synth.WriteFile(synthOpts.out, c); err != nil {
			return err
		}
		f, err := gguf.Open(synthOpts.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s %s, %d params, vocab %d, %d bytes\n",
			synthOpts.out, c.Name, c.Type, f.Params(), f.VocabSize(), f.Size)
		return nil
	},
}

// config turns the flags into a synth.Config.
func (o synthFlags) config() (synth.Config, error) {
	if o.out == "" {
		return synth.Config{}, fmt.Errorf("model synth: --out is required")
	}
	c, err := synth.Preset(o.preset)
	if err != nil {
		return c, err
	}
	if c.Type, err = gguf.ParseTensorType(o.typ); err != nil {
		return c, err
	}
	c.Seed = o.seed
	for _, d := range []struct {
		dst *int
		v   int
	}{{&c.NEmbd, o.embd}, {&c.NLayer, o.layers},
		{&c.NFF, o.ff}, {&c.NHead, o.heads}, {&c.NHeadKV, o.headsKV}, {&c.NCtx, o.ctx}, {&c.NVocab, o.nVocab}} {
		if d.v != 0 {
			*d.dst = d.v
		}
	}
	if o.name != "" {
		c.Name = o.name
	}
	if o.template != "" {
		t, ok := synth.Templates[o.template]
		if !ok {
			return c, fmt.Errorf("model synth: unknown template %q (have %s)", o.template, templateNames())
		}
		c.ChatTemplate = t
	}
	if o.vocab != "" {
		if c.Vocab, err = gguf.Open(o.vocab); err != nil {
			return c, err
		}
		if o.nVocab == 0 {
			c.NVocab = 0 // the vocab file decides
		}
	}
	return c, nil
}

func templateNames() string {
	names := make([]string, 0, len(synth.Templates))
	for n := range synth.Templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func init() {
	f := modelSynthCmd.Flags()
	f.StringVar(&synthOpts.preset, "preset", "tiny", "shape: "+strings.Join(synth.PresetNames(), ", "))
	f.StringVar(&synthOpts.typ, "type", "f16", "weight type: f32, f16, q8_0 or q4_0")
	f.StringVar(&synthOpts.vocab, "vocab", "", "copy the tokenizer from this GGUF file (default: built-in byte vocabulary)")
	f.StringVar(&synthOpts.template, "template", "", "chat template to embed: chatml")
	f.StringVar(&synthOpts.name, "name", "", "general.name (default: from the preset)")
	f.StringVar(&synthOpts.out, "out", "", "output file")
	f.Uint64Var(&synthOpts.seed, "seed", 0, "random seed: the same seed gives the same bytes")
	f.IntVar(&synthOpts.embd, "n-embd", 0, "override the embedding length")
	f.IntVar(&synthOpts.layers, "n-layer", 0, "override the number of layers")
	f.IntVar(&synthOpts.ff, "n-ff", 0, "override the feed-forward length")
	f.IntVar(&synthOpts.heads, "n-head", 0, "override the number of attention heads")
	f.IntVar(&synthOpts.headsKV, "n-head-kv", 0, "override the number of key/value heads")
	f.IntVar(&synthOpts.ctx, "n-ctx", 0, "override the training context length")
	f.IntVar(&synthOpts.nVocab, "n-vocab", 0, "vocabulary size of the built-in tokenizer (padded with unused tokens)")
	modelCmd.AddCommand(modelInfoCmd, modelSynthCmd)
	rootCmd.AddCommand(modelCmd)
}
