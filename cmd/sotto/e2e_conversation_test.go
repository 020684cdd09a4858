package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/memscan"
	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/llama"
)

// conversationTTL is the server's cap on a conversation's cache ttl in
// the expiry test: long enough to scan the server once before it passes.
const conversationTTL = 6 * time.Second

// TestE2EConversationCacheExpiry: interactive `sotto chat` against a
// server with the prefix cache on reuses turn 1's prompt in turn 2 (the
// server's cached-token counter moves). Right after the chat the server's
// memory holds the conversation's prompt tokens (the cached entry: the
// control that the scan sees it); once the ttl has passed, neither those
// tokens, nor the prompt's canary, nor the replies are anywhere in it.
func TestE2EConversationCacheExpiry(t *testing.T) {
	testenv.RequireRoot(t, "the memory scan reads /proc/PID/mem of a non-dumpable process")
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	canary := "ZQXCANARY" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	first := "Once upon a time, " + canary + " went to the park"
	s := startServe(t, "SOTTO_PREFIX_CACHE_BYTES=16777216",
		"SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS="+strconv.Itoa(int(conversationTTL/time.Second)))
	out := s.chatLines(t, first+"\nThen the dog ran home\n", "--temperature", "0", "--max-tokens", "24", "--quiet")
	ended := time.Now()
	// Each reply ends with a newline, but a reply may hold newlines of its
	// own (greedy output can differ between runs in near ties, and this
	// tiny model sometimes writes one): the needles are the output's lines
	// long enough not to match by chance, and two turns show as at least
	// two lines.
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var replies []string
	for _, l := range lines {
		if len(l) >= 16 {
			replies = append(replies, l)
		}
	}
	if len(lines) < 2 || len(replies) == 0 {
		t.Fatalf("output of two turns %q: want at least two lines, one of 16 bytes or more", lines)
	}
	if n := s.serverCounter(t, "sotto_prompt_tokens_cached_total"); n <= 0 {
		t.Fatalf("sotto_prompt_tokens_cached_total = %v after two turns of one conversation", n)
	}
	tokens := promptTokenBytes(t, first)
	hits, err := memscan.Scan(s.cmd.Process.Pid, tokens)
	if time.Since(ended) >= conversationTTL {
		t.Skip("the machine is too slow to scan before the ttl passed")
	}
	if err != nil || len(hits) == 0 {
		t.Fatalf("control: the cached conversation's tokens not found before the ttl (%d hits, %v)", len(hits), err)
	}
	time.Sleep(time.Until(ended.Add(conversationTTL)))
	needles := [][]byte{tokens, []byte(canary)}
	names := []string{"cached prompt tokens", "prompt canary"}
	for i, r := range replies {
		needles = append(needles, []byte(r))
		names = append(names, "reply line "+strconv.Itoa(i+1))
	}
	for _, h := range scanUntilClean(t, s.cmd.Process.Pid, needles) {
		t.Errorf("%s found in server memory after the ttl at %#x in %s", names[h.Needle], h.Addr, h.Region)
	}
}

// chatLines runs interactive `sotto chat` with stdin and returns stdout.
func (s *e2eServer) chatLines(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey}, args...)
	cmd := exec.CommandContext(ctx, "sotto", all...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+s.dir)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sotto chat: %v\nstderr: %s\nserver logs:\n%s", err, stderr.Bytes(), s.logs.Bytes())
	}
	return string(out)
}

// promptTokenBytes is the token ids of the one-message prompt, as the
// server's engine formats it, in memory order (int32, little-endian),
// without the last two tokens (the cached prefix of the next turn keeps
// at least all but the last).
func promptTokenBytes(t *testing.T, prompt string) []byte {
	t.Helper()
	m, err := llama.LoadModel(testenv.Model(t, "stories260K.gguf"), llama.ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, err := llama.NewEngine(m, llama.Config{Slots: 1, ContextPerSlot: 512, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p, err := e.Prepare(&llama.Request{Messages: []llama.Message{{Role: llama.RoleUser, Content: []byte(prompt)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	toks := p.Tokens()
	if len(toks) < 12 {
		t.Fatalf("prompt of %d tokens: too short a needle", len(toks))
	}
	out := make([]byte, 0, 4*len(toks))
	for _, tok := range toks[:len(toks)-2] {
		out = binary.LittleEndian.AppendUint32(out, uint32(tok))
	}
	return out
}

// TestBenchTurns: `sotto bench turns` runs the conversation without and
// with the cache: the same replies and prompt sizes, and the server
// reused at least all but the last token of every earlier turn's prompt
// in the cached run.
func TestBenchTurns(t *testing.T) {
	s := startServe(t, append(raisedLimits, "SOTTO_PREFIX_CACHE_BYTES=16777216")...)
	out, err := exec.Command("sotto", "bench", "turns", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey,
		"--turns", "3", "--history-tokens", "40", "--max-tokens", "8").Output()
	if err != nil {
		t.Fatalf("bench turns: %v\nserver logs:\n%s", err, s.logs.Bytes())
	}
	var res benchTurnsResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(res.NoCache) != 3 || len(res.Cache) != 3 || !res.RepliesIdentical {
		t.Fatalf("result %+v", res)
	}
	want := 0
	for i := range 3 {
		a, b := res.NoCache[i], res.Cache[i]
		if a.PromptTokens != b.PromptTokens || a.PromptTokens < 40 || a.TTFTMs <= 0 || b.TTFTMs <= 0 {
			t.Fatalf("turn %d: without the cache %+v, with %+v", i+1, a, b)
		}
		if i < 2 {
			want += b.PromptTokens - 1
		}
	}
	if got := s.serverCounter(t, "sotto_prompt_tokens_cached_total"); got < float64(want) {
		t.Fatalf("the server reused %v prompt tokens, want at least %d", got, want)
	}
}
