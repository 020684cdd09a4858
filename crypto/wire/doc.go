// Package wire names the protocol's HTTP surface (docs/protocol.md): the
// paths, header names and media types, and the catalogue of problem types
// a server answers before a stream starts (name, status, title, type URI).
//
// It is the one home of these strings. The server writes its responses
// from it, the Go client reads them with it, and the router and the
// TypeScript client mirror it. It has no dependencies beyond the standard
// library and holds no secrets.
package wire
