package main

import (
	"errors"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sottolabs/sotto/internal/demomodel"
	"github.com/sottolabs/sotto/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sotto": func() { os.Exit(run()) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar against the
// real binary. $STORIES is a copy of the embedded demo model (always
// there); $MODELS is the directory of shared test GGUF files, which
// scripts that use it require with the [models] condition (in CI its
// absence fails them).
func TestScripts(t *testing.T) {
	stories := testenv.Model(t, demomodel.Name)
	var models string
	if testenv.HaveModelsDir(t) {
		models = testenv.ModelsDir(t)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("MODELS", models)
			env.Setenv("STORIES", stories)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond != "models" {
				return false, errors.New("unknown condition " + cond)
			}
			if models == "" && testenv.InCI() {
				return false, errors.New("the shared models directory is missing (set SOTTO_MODELS_DIR)")
			}
			return models != "", nil
		},
	})
}
