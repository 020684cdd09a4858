package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto/device"
)

// chatSession is one run of `sotto chat`: the client, the conversation
// so far (kept here, sent whole each turn), the secret under which the
// server may keep its prompt between turns (docs/protocol.md 3.2.1; nil
// for -p and --no-cache) and the Ctrl-C handling.
type chatSession struct {
	cmd  *cobra.Command
	c    *client.Client
	dev  device.Key // this device's public key, for the enrolment hint
	base []client.Message
	conv *client.Conversation
	intr *interrupts
	// The interactive session: the conversation so far, and the numbers
	// /stats prints.
	history []client.Message
	failed  int
	totals  sessionTotals
}

func newChatSession(cmd *cobra.Command, c *client.Client, dev device.Key) *chatSession {
	return &chatSession{cmd: cmd, c: c, dev: dev, intr: watchInterrupts()}
}

func (s *chatSession) stop() { s.intr.stop() }

// once answers one prompt (-p).
func (s *chatSession) once(prompt string) error {
	msgs := append(s.base[:len(s.base):len(s.base)], client.Message{Role: client.RoleUser, Content: prompt})
	_, err := s.turn(msgs)
	return err
}

// inputLine is one line of standard input, or the error that ended it.
type inputLine struct {
	text string
	err  error
}

// loop is the interactive mode: one user message per input line; the
// commands of chat_commands.go (/help, /reset, /stats, /quit) are handled
// here and never sent. End of input, or Ctrl-C while no reply is being
// written, quits. A failed turn is reported and left out of the
// conversation; the command then fails at the end. A stopped reply stays
// in it as far as it was shown.
func (s *chatSession) loop(in io.Reader) error {
	stderr := s.cmd.ErrOrStderr()
	src, editing := newLineSource(in, stderr)
	defer src.close()
	s.history = s.base[:len(s.base):len(s.base)]
	s.newConversation()
	defer func() { s.conv.Forget() }() // the current one, after any /reset
	prompt := isTerminal(in) && !editing
	if isTerminal(in) {
		fmt.Fprintln(stderr, s.banner())
	}
	for !s.intr.quitting() {
		if prompt {
			fmt.Fprint(stderr, "> ")
		}
		src.ready()
		var line inputLine
		var ok bool
		select {
		case line, ok = <-src.lines():
		case <-s.intr.quit:
			fmt.Fprintln(stderr)
		}
		if !ok {
			break
		}
		if line.err != nil {
			return fmt.Errorf("chat: reading input: %w", line.err)
		}
		text := strings.TrimSpace(line.text)
		if text == "" {
			continue
		}
		if quit, handled := s.command(text); handled {
			if quit {
				break
			}
			continue
		}
		msgs := append(s.history[:len(s.history):len(s.history)], client.Message{Role: client.RoleUser, Content: text})
		reply, err := s.turn(msgs)
		if err != nil && !errors.Is(err, errStopped) {
			fmt.Fprintln(stderr, "sotto:", err)
			s.failed++
			continue
		}
		s.history = append(msgs, client.Message{Role: client.RoleAssistant, Content: reply})
	}
	return failedTurns(s.failed)
}

func failedTurns(n int) error {
	if n > 0 {
		return fmt.Errorf("chat: %d turn(s) failed", n)
	}
	return nil
}

// newConversation forgets the current conversation's secret and, unless
// --no-cache, draws a fresh one: the server's copy of the old prompt can
// no longer be named and expires unused.
func (s *chatSession) newConversation() {
	s.conv.Forget()
	s.conv = nil
	if !chatOpts.noCache {
		s.conv = client.NewConversation(0) // the server's ttl
	}
}
