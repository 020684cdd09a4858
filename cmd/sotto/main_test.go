package main

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
			env.Setenv("PORT", strconv.Itoa(freePort(t)))
			env.Setenv("RUN_SH", filepath.Join(testenv.RepoRoot(t), "scripts", "run.sh")) // make run
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"waitready": waitReadyCmd, "retry": retryCmd},
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

// waitReadyCmd is the script command `waitready URL`: it waits until the
// server at URL answers /health/ready with 200 (a background `sotto serve`
// loading its model).
func waitReadyCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitready URL")
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(args[0] + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s not ready after 60 s", args[0])
}
