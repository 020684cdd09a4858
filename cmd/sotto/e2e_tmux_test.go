package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// tmuxChat drives an interactive `sotto chat` in a real terminal: a tmux
// pane on a private server socket.
type tmuxChat struct {
	t      *testing.T
	socket string
}

func (m *tmuxChat) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-S", m.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (m *tmuxChat) keys(keys ...string) {
	m.t.Helper()
	if out, err := m.tmux(append([]string{"send-keys", "-t", "chat"}, keys...)...); err != nil {
		m.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// screen is the pane's text.
func (m *tmuxChat) screen() string {
	out, _ := m.tmux("capture-pane", "-p", "-t", "chat", "-S", "-200")
	return out
}

// waitFor waits until the pane shows want count times (the outcome, not
// its speed: the limit only ends a hung test).
func (m *tmuxChat) waitFor(want string, count int) {
	m.t.Helper()
	m.waitUntil(func(screen string) bool { return strings.Count(screen, want) >= count }, "%q %d times", want, count)
}

// waitPrompts waits until the pane has shown n prompts ("> " lines, the
// last one the prompt now waiting), i.e. n-1 inputs were handled.
func (m *tmuxChat) waitPrompts(n int) {
	m.t.Helper()
	m.waitUntil(func(screen string) bool {
		count := 0
		for _, l := range strings.Split(screen, "\n") {
			if strings.HasPrefix(l, ">") {
				count++
			}
		}
		return count >= n
	}, "%d prompts", n)
}

func (m *tmuxChat) waitUntil(ok func(screen string) bool, what string, args ...any) {
	m.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok(m.screen()) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatalf("the pane never showed "+what+":\n%s", append(args, m.screen())...)
}

// TestChatInTerminal: the interactive chat in a terminal has a one-line
// banner, handles /help and /stats itself (the server sees only the two
// real turns), edits lines (Up recalls the last one, no ^[[A), and quits on
// Ctrl-C at the prompt.
func TestChatInTerminal(t *testing.T) {
	testenv.RequireTool(t, "tmux", "tmux")
	s := startServe(t)
	m := &tmuxChat{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	self, err := exec.LookPath("sotto")
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join([]string{"env", "XDG_CONFIG_HOME=" + s.dir, self, "chat", "--server", s.url, "--pin", s.pin,
		"--device-key", s.deviceKey, "--temperature", "0", "--max-tokens", "6", "--quiet"}, " ")
	if out, err := m.tmux("new-session", "-d", "-s", "chat", "-x", "160", "-y", "50", cmd); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = m.tmux("kill-server") })

	m.waitFor("sotto chat: "+s.url+", signing key ", 1)
	m.waitFor("conversation cache on (if the server enables it); /help for commands", 1)
	m.keys("/help", "Enter")
	m.waitFor("/stats   this session's turns and tokens", 1)
	m.waitPrompts(2)
	m.keys("Tell me a story", "Enter")
	m.waitPrompts(3)
	m.keys("Up")
	m.waitFor("> Tell me a story", 2) // the recalled line, on the new prompt
	m.keys("Enter")
	m.waitPrompts(4)
	m.keys("/stats", "Enter")
	m.waitFor("[2 turn(s) answered, 0 failed;", 1)
	if strings.Contains(m.screen(), "^[[A") || strings.Contains(m.screen(), "[A") {
		t.Errorf("the Up arrow was echoed:\n%s", m.screen())
	}
	m.keys("C-c")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := m.tmux("has-session", "-t", "chat"); err != nil {
			break // the chat quit, and its pane with it
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl-C at the prompt did not quit:\n%s", m.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := strings.Count(s.logs.String(), "msg=chat "); n != 2 {
		t.Errorf("the server answered %d chats, want 2 (/help and /stats stay local):\n%s", n, s.logs.String())
	}
	_ = os.Remove(m.socket)
}
