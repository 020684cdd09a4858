package server

import (
	"errors"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/server/problem"
)

// precheck has the engine format and tokenize the parsed request before
// the 200 (protocol section 4, step 11): whatever the engine would refuse
// is a 400 #request with a code here, not an error chunk after the stream
// started. The prepared prompt is handed to Generate, so the work is done
// once.
func (s *Server) precheck(st *chatState) *problem.Problem {
	req := s.engineRequest(st)
	p, err := s.attached().Prepare(req)
	if err != nil {
		return precheckProblem(err)
	}
	req.Prepared = p
	st.prepared = p
	st.engineReq = req
	return nil
}

// precheckProblem maps an engine refusal onto the protocol's answer: a
// fixed vocabulary, never the error's text.
func precheckProblem(err error) *problem.Problem {
	var re *engine.RangeError
	switch {
	case errors.Is(err, engine.ErrMessageNUL):
		return reject(problem.InvalidRequest(crypto.CodeNUL))
	case errors.Is(err, engine.ErrTemplateUnsupported), errors.Is(err, engine.ErrInvalidMessage):
		return reject(problem.InvalidRequest(crypto.CodeTemplate))
	case errors.Is(err, engine.ErrPromptTooLong):
		return reject(problem.InvalidRequest(crypto.CodeContext))
	case errors.Is(err, engine.ErrContextOverflow):
		return reject(problem.InvalidRequest(crypto.CodeContextMaxTokens))
	case errors.As(err, &re) && samplingCode(re.Field) != "":
		return reject(problem.InvalidRequest(samplingCode(re.Field)))
	case errors.Is(err, engine.ErrOverloaded), errors.Is(err, engine.ErrClosed):
		return overloaded()
	}
	return reject(problem.New(problem.Internal))
}

// samplingCode names the protocol member behind an engine sampling field
// (top_k above the model's vocabulary, say); "" for fields a client does
// not set.
func samplingCode(field string) string {
	switch field {
	case "temperature":
		return crypto.CodeTemperature
	case "top_p":
		return crypto.CodeTopP
	case "top_k":
		return crypto.CodeTopK
	}
	return ""
}

// engineSeed maps the protocol's 64-bit seed onto llama.cpp's 32-bit one.
// Seeds below 2^32-1 are used as they are; larger ones are reduced modulo
// 2^32-1, so engine.SeedRandom (which would make llama.cpp draw a random
// seed, breaking "same seed, same reply") is never passed: 2^32-1 samples
// as seed 0 does (protocol section 3.2).
func engineSeed(seed uint64) uint32 {
	return uint32(seed % engine.SeedRandom)
}
