package llama

import "testing"

func TestZZEOS(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 512})
	for seed := uint32(1); seed < 40; seed++ {
		_, _, res, _ := collect(t, e, &Request{Prompt: []byte("They lived happily ever after."), MaxTokens: 200, Sampling: Sampling{Temperature: 1, Seed: seed}})
		if res.Finish == FinishStop { t.Logf("seed %d %+v", seed, res) }
	}
}
