package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sottolabs/sotto/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sotto": func() { os.Exit(run()) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar against the
// real binary. $MODELS is the directory of test GGUF files.
func TestScripts(t *testing.T) {
	models := testenv.ModelsDir(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("MODELS", models)
			return nil
		},
	})
}
