// Package lint holds repository-wide checks that run with the ordinary test
// suite: every package has exactly one package doc comment; non-test Go
// files stay within 500 lines and their functions within 60; and the import
// graph keeps its layers (nothing imports cmd, the client SDK reaches no
// server code, the server edge no llama.cpp, the blind router no keys).
package lint
