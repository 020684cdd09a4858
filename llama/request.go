package llama

import "fmt"

// validateRequest checks everything that does not need the tokenized
// prompt: the request's shape, its token ids and its sampling ranges.
func validateRequest(r *Request, m *Model, cfg *Config) error {
	if err := r.ValidateShape(cfg.MaxTokensCap); err != nil {
		return err
	}
	if r.Messages == nil && len(r.Prompt) == 0 {
		for _, t := range r.Tokens {
			if !m.validToken(t) {
				return fmt.Errorf("%w: %w", ErrInvalidRequest, ErrInvalidToken)
			}
		}
	}
	return r.Sampling.Validate(int(m.nVocab), cfg.ContextPerSlot)
}
