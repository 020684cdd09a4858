package main

import (
	"fmt"
	"strings"

	"github.com/sottolabs/sotto/client"
)

// chatKeyID names the pinned signing key in the banner (set with the
// client).
var chatKeyID string

// chatHelp is what /help prints: the commands, and the keys the line
// editor and the interrupt handling give.
const chatHelp = `commands (never sent to the server):
  /help    this list
  /reset   forget the conversation (and its secret: the server's copy can no longer be used)
  /stats   this session's turns and tokens
  /quit    leave (also /exit, Ctrl-D, or Ctrl-C at the prompt)
keys: Up/Down recall earlier lines of this session (kept in memory only), Left/Right, Home/End,
Ctrl-A/E/K/U/W edit the line; Ctrl-C while a reply is written stops it, a second Ctrl-C quits`

// sessionTotals adds up the replies of an interactive session.
type sessionTotals struct{ turns, promptTokens, completionTokens int }

func (t *sessionTotals) add(res client.Result) {
	t.turns++
	t.promptTokens += res.PromptTokens
	t.completionTokens += res.CompletionTokens
}

// command handles a line that is one of the session's commands; handled
// is false for anything else, which is a message. A line that looks like
// an unknown command is not sent either: a typo of /quit would otherwise
// go to the model.
func (s *chatSession) command(text string) (quit, handled bool) {
	if !strings.HasPrefix(text, "/") || !isCommandWord(text) {
		return false, false
	}
	stderr := s.cmd.ErrOrStderr()
	switch strings.Fields(text)[0] {
	case "/quit", "/exit":
		return true, true
	case "/help", "/?":
		fmt.Fprintln(stderr, chatHelp)
	case "/reset":
		s.history = s.base[:len(s.base):len(s.base)]
		s.newConversation()
		fmt.Fprintln(stderr, "[conversation cleared]")
	case "/stats":
		fmt.Fprintln(stderr, s.stats())
	default:
		fmt.Fprintf(stderr, "[unknown command %s: /help lists the commands; nothing was sent]\n", strings.Fields(text)[0])
	}
	return false, true
}

// isCommandWord reports whether text's first word is a command name (a
// slash and letters): "/reset now" is the command, "/usr/bin is a
// directory" is a message.
func isCommandWord(text string) bool {
	w := strings.Fields(text)[0]
	return strings.IndexByte(w[1:], '/') < 0
}

// stats is /stats's line.
func (s *chatSession) stats() string {
	t := s.totals
	return fmt.Sprintf("[%d turn(s) answered, %d failed; %d prompt and %d completion tokens; %d message(s) in the conversation; conversation cache %s]",
		t.turns, s.failed, t.promptTokens, t.completionTokens, len(s.history)-len(s.base), cacheState())
}

// banner is the interactive session's first line: where it talks, under
// which pinned key, and whether it asks the server to keep the
// conversation. The model is the server's choice; the protocol does not
// name it to clients.
func (s *chatSession) banner() string {
	return fmt.Sprintf("sotto chat: %s, signing key %s; model: the server's; conversation cache %s; /help for commands",
		chatOpts.server, chatKeyID, cacheState())
}

func cacheState() string {
	if chatOpts.noCache {
		return "off (--no-cache)"
	}
	return "on (if the server enables it)"
}
