package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
)

// errStopped: the user stopped the reply with Ctrl-C.
var errStopped = errors.New("chat: reply stopped (Ctrl-C)")

// turnClock records when a reply was asked for, began and ended.
type turnClock struct{ start, first, end time.Time }

// turn sends msgs, prints the reply as it streams and a newline after it,
// then the reply's numbers on standard error, and returns the reply. A
// reply stopped by Ctrl-C returns what was shown and errStopped.
func (s *chatSession) turn(msgs []client.Message) (string, error) {
	ctx, end := s.intr.begin(s.cmd.Context())
	defer end()
	out := s.cmd.OutOrStdout()
	var reply strings.Builder
	clock := turnClock{start: time.Now()}
	res, err := s.c.Chat(ctx, chatRequest(s.cmd, msgs, s.conv), func(text []byte) error {
		if clock.first.IsZero() {
			clock.first = time.Now()
		}
		reply.Write(text)
		_, err := out.Write(text)
		return err
	})
	clock.end = time.Now()
	if reply.Len() > 0 || err == nil {
		fmt.Fprintln(out)
	}
	if err != nil && ctx.Err() != nil && s.cmd.Context().Err() == nil {
		fmt.Fprintln(s.cmd.ErrOrStderr(), "[stopped]")
		return reply.String(), errStopped
	}
	if err != nil {
		return "", describeChatError(err, s.dev)
	}
	if res.FinishReason == crypto.FinishError {
		return "", describeFinishError(res.ErrorCode)
	}
	printTurnStats(s.cmd.ErrOrStderr(), res, clock)
	s.totals.add(res)
	return reply.String(), nil
}

// printTurnStats writes the reply's numbers: tokens, time to first token
// (from sending, as the user waits: sealing, network, queue, prompt) and
// the generation rate after the first token.
func printTurnStats(w io.Writer, res client.Result, c turnClock) {
	if chatOpts.verbose {
		fmt.Fprintf(w, "[finish %s, prompt tokens %d, completion tokens %d]\n",
			res.FinishReason, res.PromptTokens, res.CompletionTokens)
	}
	if chatOpts.quiet {
		return
	}
	line := fmt.Sprintf("[%d tokens", res.CompletionTokens)
	if !c.first.IsZero() {
		line += fmt.Sprintf(", first token %d ms", c.first.Sub(c.start).Milliseconds())
		if gen := c.end.Sub(c.first).Seconds(); res.CompletionTokens > 1 && gen > 0 {
			line += fmt.Sprintf(", %.1f tokens/s", float64(res.CompletionTokens-1)/gen)
		}
	}
	fmt.Fprintln(w, line+"]")
}

// chatRequest builds the request with the sampling flags the user set,
// in conv (nil: none).
func chatRequest(cmd *cobra.Command, msgs []client.Message, conv *client.Conversation) client.Request {
	req := client.Request{Messages: msgs, MaxTokens: chatOpts.maxTokens, Conversation: conv}
	if cmd.Flags().Changed("temperature") {
		t := chatOpts.temperature
		req.Temperature = &t
	}
	if cmd.Flags().Changed("seed") {
		s := chatOpts.seed
		req.Seed = &s
	}
	return req
}
