package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
)

// benchTurnsFlags: the connection flags of bench chat, and the shape of
// the conversation.
type benchTurnsFlags struct {
	conn                                       benchChatFlags
	turns, historyTokens, turnWords, maxTokens int
	seed                                       uint64
	timeout                                    time.Duration
	llamaServer                                string
	llamaServerPlain                           bool
}

var benchTurnsOpts benchTurnsFlags

var benchTurnsCmd = &cobra.Command{
	Use:   "turns --server URL --pin KEY --device-key F [--turns N --history-tokens H]",
	Short: "Measure a multi-turn chat's time to first token per turn, with and without the conversation cache",
	Long: "Run one synthetic conversation of --turns turns twice through the real client: without\n" +
		"a conversation secret (every turn prefills the whole history), then with one (the\n" +
		"server reuses the previous turn's prompt; needs SOTTO_PREFIX_CACHE_BYTES > 0).\n" +
		"Turn 1 is --history-tokens pseudo-random words (one token each in Llama vocabularies),\n" +
		"every later turn adds the reply and --turn-words new words. Greedy, --max-tokens per\n" +
		"reply. With --llama-server URL the same conversation (the same replies) also runs\n" +
		"against llama.cpp's llama-server with cache_prompt. Prints one JSON line. See\n" +
		"docs/benchmarks.md.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		out, err := benchTurns(ctx, benchTurnsOpts)
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
	},
}

func init() {
	f := benchTurnsCmd.Flags()
	o := &benchTurnsOpts
	f.StringVar(&o.conn.server, "server", "", "server base URL (required)")
	f.StringVar(&o.conn.pin, "pin", "", "pinned signing public key, ed25519:<base64url> (required)")
	f.StringVar(&o.conn.deviceKey, "device-key", "", "enrolled device key file (default $XDG_CONFIG_HOME/sotto/device.key)")
	f.StringVar(&o.conn.caFile, "ca-file", "", "PEM certificates to trust for an https server")
	f.StringVar(&o.conn.suite, "suite", "x25519", "HPKE suite: x25519 or xwing")
	f.IntVar(&o.turns, "turns", 4, "turns of the conversation")
	f.IntVar(&o.historyTokens, "history-tokens", 400, "words (about tokens) of turn 1's message")
	f.IntVar(&o.turnWords, "turn-words", 6, "words of every later turn's new message")
	f.IntVar(&o.maxTokens, "max-tokens", 16, "max_tokens of each reply")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic words")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	f.StringVar(&o.llamaServer, "llama-server", "", "also run the conversation against this llama-server (http://host:port)")
	f.BoolVar(&o.llamaServerPlain, "llama-server-plain", false, "send llama-server the messages joined by newlines (/completion), as Sotto renders a model without a chat template")
	_ = benchTurnsCmd.MarkFlagRequired("server")
	_ = benchTurnsCmd.MarkFlagRequired("pin")
	benchCmd.AddCommand(benchTurnsCmd)
}

// turnTiming is one turn: its prompt's tokens (as the server counted
// them), how many came from a cache (llama-server only; sotto's count is
// on its /metrics), and the time to the first text.
type turnTiming struct {
	Turn         int     `json:"turn"`
	PromptTokens int     `json:"prompt_tokens"`
	CachedTokens int     `json:"cached_tokens,omitempty"`
	TTFTMs       float64 `json:"ttft_ms"`
}

// benchTurnsResult is the JSON line `sotto bench turns` prints.
type benchTurnsResult struct {
	Turns            int          `json:"turns"`
	HistoryTokens    int          `json:"history_tokens"`
	TurnWords        int          `json:"turn_words"`
	MaxTokens        int          `json:"max_tokens"`
	NoCache          []turnTiming `json:"sotto_no_cache"`
	Cache            []turnTiming `json:"sotto_cache"`
	LlamaServer      []turnTiming `json:"llama_server,omitempty"`
	RepliesIdentical bool         `json:"replies_identical"`
	LoadAverage1m    float64      `json:"load_average_1m"`
}

func benchTurns(ctx context.Context, o benchTurnsFlags) (*benchTurnsResult, error) {
	if o.turns < 1 || o.historyTokens < 1 || o.turnWords < 1 || o.maxTokens < 1 {
		return nil, errors.New("bench: --turns, --history-tokens, --turn-words and --max-tokens must be at least 1")
	}
	o.conn.parallel = 1
	c, closeKey, err := newBenchClient(o.conn)
	if err != nil {
		return nil, err
	}
	defer closeKey()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	warm := client.Request{Messages: []client.Message{{Role: client.RoleUser, Content: "warm up"}}, MaxTokens: 1}
	if _, err := c.Chat(ctx, warm, nil); err != nil {
		return nil, fmt.Errorf("bench: warm-up request: %w", describeChatError(err, device.Key{}))
	}
	res := &benchTurnsResult{Turns: o.turns, HistoryTokens: o.historyTokens, TurnWords: o.turnWords, MaxTokens: o.maxTokens}
	var plain, cached []string
	if res.NoCache, plain, err = sottoConversation(ctx, c, o, nil); err != nil {
		return nil, err
	}
	conv := client.NewConversation(0)
	defer conv.Forget()
	if res.Cache, cached, err = sottoConversation(ctx, c, o, conv); err != nil {
		return nil, err
	}
	res.RepliesIdentical = slices.Equal(plain, cached)
	if o.llamaServer != "" {
		if res.LlamaServer, err = llamaServerConversation(ctx, o, plain); err != nil {
			return nil, err
		}
	}
	res.LoadAverage1m = loadAverage()
	return res, nil
}

// turnMessage is turn i's new user message.
func turnMessage(o benchTurnsFlags, i int) client.Message {
	n := o.turnWords
	if i == 0 {
		n = o.historyTokens
	}
	return client.Message{Role: client.RoleUser, Content: syntheticWords(n, o.seed+uint64(i))}
}

// sottoConversation runs the conversation through c, in conv (nil: none),
// and returns each turn's timing and reply.
func sottoConversation(ctx context.Context, c *client.Client, o benchTurnsFlags, conv *client.Conversation) ([]turnTiming, []string, error) {
	var msgs []client.Message
	var timings []turnTiming
	var replies []string
	temp, seed := 0.0, o.seed
	for i := range o.turns {
		msgs = append(msgs, turnMessage(o, i))
		req := client.Request{Messages: msgs, MaxTokens: o.maxTokens, Temperature: &temp, Seed: &seed, Conversation: conv}
		var reply []byte
		var first time.Time
		start := time.Now()
		r, err := c.Chat(ctx, req, func(text []byte) error {
			if first.IsZero() {
				first = time.Now()
			}
			reply = append(reply, text...)
			return nil
		})
		if err == nil && r.FinishReason == crypto.FinishError {
			err = fmt.Errorf("bench: turn %d: generation failed (%s)", i+1, r.ErrorCode)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("bench: turn %d: %w", i+1, describeChatError(err, device.Key{}))
		}
		if first.IsZero() {
			first = time.Now() // an empty reply: its final chunk is the first answer
		}
		timings = append(timings, turnTiming{Turn: i + 1, PromptTokens: r.PromptTokens, TTFTMs: ms(first.Sub(start))})
		replies = append(replies, string(reply))
		msgs = append(msgs, client.Message{Role: client.RoleAssistant, Content: string(reply)})
	}
	return timings, replies, nil
}
