// Package load is the load generator behind `sotto bench load`: it drives
// a server with chat requests in an open loop (Poisson arrivals at a rate,
// or a ramp of rates) or a closed loop (a fixed number of conversations in
// flight), bounded by a count and a duration, and summarizes what came
// back: requests per second, refusals and errors by problem name, time to
// first token, inter-token and end-to-end latency percentiles, aggregate
// and per-stream tokens per second, goodput under an SLO and the
// generator's own CPU.
//
// It lives under client/ on purpose: the import rules (internal/lint)
// then forbid it any path to server/ or llama, so what it measures is what
// a real device sees through the Go client (every request sealed, signed,
// streamed, opened and verified), never a shortcut into the server. The
// same driver speaks plain OpenAI Server-Sent Events, so llama-server and
// `sotto proxy` are measured by the same code and definitions.
//
// Prompts are synthetic words from a seeded generator; the package never
// logs or reports a prompt or a reply, only counts and timings.
package load
