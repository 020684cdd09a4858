package client

import (
	"errors"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/server/problem"
)

func TestRateLimitedIsTyped(t *testing.T) {
	for _, p := range []problem.Problem{problem.RateLimitedAfter(3 * time.Second), problem.OverloadedAfter(2 * time.Second)} {
		s := clienttest.New(t)
		c, _ := newClient(t, s, nil)
		s.QueueProblems(p)
		_, _, err := chat(t, c, userRequest())
		var pe *ProblemError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want *ProblemError", err)
		}
		want := ProblemError{Status: p.Status, Name: p.Name, RetryAfter: p.RetryAfter}
		if pe.Status != want.Status || pe.Name != want.Name || pe.RetryAfter != want.RetryAfter || pe.Code != "" {
			t.Errorf("problem = %+v, want %+v", *pe, want)
		}
		if got := s.Counts().Chat; got != 1 {
			t.Errorf("chats = %d, want 1 (no automatic retry by default)", got)
		}
	}
}

func TestMaxRetriesHonoursRetryAfter(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, func(cfg *Config) { cfg.MaxRetries = 2 })
	var slept []time.Duration
	c.sleep = func(_ <-chan struct{}, d time.Duration) bool { slept = append(slept, d); return true }
	s.QueueProblems(problem.RateLimitedAfter(3*time.Second), problem.New(problem.Overloaded))
	_, res, err := chat(t, c, userRequest())
	if err != nil || res != helloResult {
		t.Fatalf("Chat: %+v, %v", res, err)
	}
	// Retry-After first; without one, the backoff's second step.
	if len(slept) != 2 || slept[0] != 3*time.Second || slept[1] != 2*time.Second {
		t.Errorf("slept %v, want [3s 2s]", slept)
	}
	s.QueueProblems(problem.New(problem.Overloaded), problem.New(problem.Overloaded), problem.New(problem.Overloaded))
	_, _, err = chat(t, c, userRequest())
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Name != problem.Overloaded {
		t.Fatalf("err = %v, want #overloaded after 2 retries", err)
	}
	if got := s.Counts().Chat; got != 6 {
		t.Errorf("chats = %d, want 6", got)
	}
}

func TestRequestProblemCode(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, nil)
	req := userRequest()
	req.MaxTokens = 1 << 20
	_, _, err := chat(t, c, req)
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Name != problem.Request || pe.Code != "range:max_tokens" {
		t.Fatalf("err = %v, want 400 #request code range:max_tokens", err)
	}
	if got := err.Error(); got != "client: server refused the request: 400 request (code range:max_tokens)" {
		t.Errorf("message = %q", got)
	}
}

func TestInvalidRequestNotSent(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, nil)
	for name, req := range map[string]Request{
		"no messages": {},
		"role":        {Messages: []Message{{Role: "root", Content: secretPrompt}}},
		"utf8":        {Messages: []Message{{Role: RoleUser, Content: secretPrompt + "\xff"}}},
		"too large":   {Messages: []Message{{Role: RoleUser, Content: string(make([]byte, 300<<10))}}},
	} {
		if _, _, err := chat(t, c, req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if got := s.Counts(); got.Chat != 0 || got.Pubkey != 0 {
		t.Errorf("counts = %+v: an invalid request reached the server", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"99999999":                      maxRetryAfter,
		"Thu, 26 Nov 2026 06:00:30 GMT": 30 * time.Second,
		"Thu, 26 Nov 2026 05:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}
