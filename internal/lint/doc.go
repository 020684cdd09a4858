// Package lint holds repository-wide checks that run with the ordinary test
// suite: every package has exactly one package doc comment, and Go files
// stay within the size the project aims for.
package lint
