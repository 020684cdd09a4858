package node

import "testing"

// TestEngineSettingsReachTheEngine: SOTTO_PROMPT_CHUNK and
// SOTTO_STEP_TOKENS configure the engine the running node built, not only
// its plan; unset, the engine keeps its defaults (a chunk of 64, no step
// budget).
func TestEngineSettingsReachTheEngine(t *testing.T) {
	for _, c := range []struct {
		vars              map[string]string
		chunk, stepTokens int
	}{
		{map[string]string{}, 64, 0},
		{map[string]string{"SOTTO_PROMPT_CHUNK": "8", "SOTTO_STEP_TOKENS": "12"}, 8, 12},
	} {
		c.vars["SOTTO_SLOTS"], c.vars["SOTTO_CONTEXT"] = "2", "256"
		r := startNode(t, c.vars)
		if got := r.n.engine.Config(); got.PromptChunk != c.chunk || got.StepTokens != c.stepTokens {
			t.Errorf("%v: engine PromptChunk %d, StepTokens %d; want %d, %d", c.vars, got.PromptChunk, got.StepTokens, c.chunk, c.stepTokens)
		}
	}
}
