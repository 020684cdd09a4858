package server

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/problem"
)

// TestPrecheckProblem: every engine refusal maps to its fixed answer
// (protocol section 4 step 12); the error's text never reaches it.
func TestPrecheckProblem(t *testing.T) {
	wrap := func(errs ...error) error {
		f := "secret text"
		args := []any{}
		for _, e := range errs {
			f += ": %w"
			args = append(args, e)
		}
		return fmt.Errorf(f, args...)
	}
	for _, tc := range []struct {
		err    error
		status int
		name   string
		code   string
	}{
		{wrap(engine.ErrInvalidMessage, engine.ErrMessageNUL), 400, problem.Request, crypto.CodeNUL},
		{wrap(engine.ErrTemplateUnsupported), 400, problem.Request, crypto.CodeTemplate},
		{wrap(engine.ErrInvalidMessage), 400, problem.Request, crypto.CodeTemplate},
		{wrap(engine.ErrContextOverflow, engine.ErrPromptTooLong), 400, problem.Request, crypto.CodeContext},
		{engine.ErrContextOverflow, 400, problem.Request, crypto.CodeContextMaxTokens},
		{&engine.RangeError{Field: "top_k"}, 400, problem.Request, crypto.CodeTopK},
		{&engine.RangeError{Field: "temperature"}, 400, problem.Request, crypto.CodeTemperature},
		{&engine.RangeError{Field: "top_p"}, 400, problem.Request, crypto.CodeTopP},
		{&engine.RangeError{Field: "min_p"}, 500, problem.Internal, ""},
		{wrap(engine.ErrOverloaded, locked.ErrExhausted), 503, problem.Overloaded, ""},
		{engine.ErrClosed, 503, problem.Overloaded, ""},
		{errors.New("secret text"), 500, problem.Internal, ""},
	} {
		p := precheckProblem(tc.err)
		code := p.Extra["code"]
		if p.Name != tc.name || (tc.code != "" && string(code) != `"`+tc.code+`"`) || (tc.code == "" && code != nil) {
			t.Errorf("%v: %s %s, want #%s %q", tc.err, p.Name, code, tc.name, tc.code)
		}
		if st := problem.New(p.Name).Status; st != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, st, tc.status)
		}
	}
}

// TestEngineSeed: seeds below 2^32-1 pass unchanged; larger ones are
// reduced modulo 2^32-1 and never become llama.cpp's random seed.
func TestEngineSeed(t *testing.T) {
	for in, want := range map[uint64]uint32{
		0: 0, 1: 1, 1<<32 - 2: 1<<32 - 2, 1<<32 - 1: 0, 1 << 32: 1, 1<<64 - 1: 0, 1<<64 - 2: 1<<32 - 2,
	} {
		if got := engineSeed(in); got != want || got == engine.SeedRandom {
			t.Errorf("engineSeed(%d) = %d, want %d", in, got, want)
		}
	}
}
