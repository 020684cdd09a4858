package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// lineSource yields the interactive chat's input lines. ready asks for
// the next one: a terminal is put in raw mode (line editing, history)
// only while a line is being read, so Ctrl-C during a reply stays the
// signal chat_interrupt.go turns into "stop the reply".
type lineSource interface {
	lines() <-chan inputLine
	ready()
	close() // restores the terminal if a read is still pending
}

// newLineSource picks the terminal editor for an interactive terminal and
// a plain line scanner otherwise (a pipe, a file, a test).
func newLineSource(in io.Reader, prompt io.Writer) (src lineSource, editing bool) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return newTerminalLines(f, prompt), true
	}
	return &scannedLines{ch: readLines(in)}, false
}

// scannedLines reads ahead: nothing to restore, nothing to ask for.
type scannedLines struct{ ch <-chan inputLine }

func (s *scannedLines) lines() <-chan inputLine { return s.ch }
func (s *scannedLines) ready()                  {}
func (s *scannedLines) close()                  {}

// terminalLines edits each line with golang.org/x/term's Terminal:
// cursor keys, Home/End, Ctrl-A/E/K/U/W, and Up/Down through this
// session's history (kept in memory only: lines are conversation
// content). Ctrl-C or Ctrl-D at the prompt ends the input.
type terminalLines struct {
	fd   int
	t    *term.Terminal
	ch   chan inputLine
	want chan struct{}
	mu   sync.Mutex
	raw  *term.State // while a line is being read
	once sync.Once
}

func newTerminalLines(f *os.File, prompt io.Writer) *terminalLines {
	tl := &terminalLines{
		fd: int(f.Fd()),
		t: term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{f, prompt}, "> "),
		ch:   make(chan inputLine),
		want: make(chan struct{}, 1),
	}
	go tl.run()
	return tl
}

func (tl *terminalLines) lines() <-chan inputLine { return tl.ch }

func (tl *terminalLines) ready() {
	select {
	case tl.want <- struct{}{}:
	default: // a read is already pending
	}
}

func (tl *terminalLines) run() {
	defer close(tl.ch)
	for range tl.want {
		line, err := tl.readLine()
		if errors.Is(err, io.EOF) {
			return
		}
		tl.ch <- inputLine{text: line, err: err}
		if err != nil {
			return
		}
	}
}

// readLine reads one edited line in raw mode, restoring the terminal
// before returning.
func (tl *terminalLines) readLine() (string, error) {
	state, err := term.MakeRaw(tl.fd)
	if err != nil {
		return "", err
	}
	tl.mu.Lock()
	tl.raw = state
	tl.mu.Unlock()
	defer tl.restore()
	if w, h, err := term.GetSize(tl.fd); err == nil {
		_ = tl.t.SetSize(w, h) // long lines wrap where the terminal wraps them
	}
	line, err := tl.t.ReadLine()
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil // a pasted line is a line
	}
	return line, err
}

func (tl *terminalLines) restore() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.raw != nil {
		_ = term.Restore(tl.fd, tl.raw)
		tl.raw = nil
	}
}

func (tl *terminalLines) close() {
	tl.once.Do(func() { close(tl.want) })
	tl.restore()
}

// readLines reads in on its own goroutine, so that a Ctrl-C at the prompt
// is seen while the read blocks. The channel is closed at end of input.
func readLines(in io.Reader) <-chan inputLine {
	ch := make(chan inputLine)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 64<<10), maxInputLine)
		for sc.Scan() {
			ch <- inputLine{text: sc.Text()}
		}
		if err := sc.Err(); err != nil {
			ch <- inputLine{err: err}
		}
	}()
	return ch
}
