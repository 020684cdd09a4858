package load

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Dist is a distribution of a count: uniform over [Min, Max] (Min == Max
// for a fixed value).
type Dist struct{ Min, Max int }

// Fixed is the distribution of the single value n.
func Fixed(n int) Dist { return Dist{n, n} }

// ParseDist reads "N" (fixed) or "A-B" (uniform over A..B, inclusive).
func ParseDist(s string) (Dist, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	a, err := strconv.Atoi(lo)
	if err != nil {
		return Dist{}, fmt.Errorf("load: distribution %q: want N or A-B", s)
	}
	b := a
	if found {
		if b, err = strconv.Atoi(hi); err != nil {
			return Dist{}, fmt.Errorf("load: distribution %q: want N or A-B", s)
		}
	}
	d := Dist{a, b}
	return d, d.check()
}

func (d Dist) check() error {
	if d.Min < 1 || d.Max < d.Min {
		return errors.New("load: a distribution needs 1 <= min <= max")
	}
	return nil
}

// String is the form ParseDist reads.
func (d Dist) String() string {
	if d.Min == d.Max {
		return strconv.Itoa(d.Min)
	}
	return fmt.Sprintf("%d-%d", d.Min, d.Max)
}

func (d Dist) draw(r *rand.Rand) int { return d.Min + r.IntN(d.Max-d.Min+1) }

// Workload is what each conversation sends: Turns requests, the first
// with PromptWords words, every later one adding the reply and TurnWords
// new words. Cache keeps the conversation's prompt state on the server
// between turns (a client.Conversation; cache_prompt for OpenAI targets).
type Workload struct {
	PromptWords Dist
	TurnWords   Dist
	MaxTokens   Dist
	Turns       int
	Cache       bool
}

func (w *Workload) defaults() error {
	if w.PromptWords == (Dist{}) {
		w.PromptWords = Fixed(16)
	}
	if w.TurnWords == (Dist{}) {
		w.TurnWords = Fixed(6)
	}
	if w.MaxTokens == (Dist{}) {
		w.MaxTokens = Fixed(64)
	}
	w.Turns = max(w.Turns, 1)
	for _, d := range []Dist{w.PromptWords, w.TurnWords, w.MaxTokens} {
		if err := d.check(); err != nil {
			return err
		}
	}
	return nil
}

// Words are the synthetic prompts' vocabulary: short common words, about
// one or two tokens each in Llama-style vocabularies.
var Words = strings.Fields(`the a one little big old new red blue green cat dog bird fox tree
	house river hill road boat sun moon star rain wind snow day night time way home
	went saw ran made found said took gave came looked played walked jumped sang
	and then but so with in on under over near after before because while happy
	sad quiet bright dark warm cold`)

// SyntheticWords returns n pseudo-random words, the same for the same
// seed (the prompts of every `sotto bench` command).
func SyntheticWords(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0x5eed_c4a7))
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Words[r.IntN(len(Words))])
	}
	return b.String()
}
