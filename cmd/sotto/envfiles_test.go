package main

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sottolabs/sotto/server/config"
)

// TestEnvDevelopmentIsTheDefault: .env.development, copied to .env as its
// comment says, changes nothing serve would do without it but move
// /metrics to its own listener (one set of development defaults), and
// .env.production uses the paths of the systemd units and of the key and
// device commands' defaults.
func TestEnvDevelopmentIsTheDefault(t *testing.T) {
	devFile, err := filepath.Abs("../../.env.development")
	if err != nil {
		t.Fatal(err)
	}
	prodFile, err := filepath.Abs("../../.env.production")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no ./models to pick from
	none := func(string) (string, bool) { return "", false }
	plain, err := config.Load(none)
	if err != nil {
		t.Fatal(err)
	}
	lookup, err := config.WithDotEnv(none, devFile)
	if err != nil {
		t.Fatal(err)
	}
	withFile, err := config.Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	withFile.MetricsListen = config.Addr{} // the one setting it adds
	if !reflect.DeepEqual(plain, withFile) {
		t.Errorf(".env.development changes the defaults:\n plain %+v\n file  %+v", plain, withFile)
	}
	prod, err := config.WithDotEnv(none, prodFile)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := prod("SOTTO_ALLOW_LIST"); v != defaultAllowList {
		t.Errorf(".env.production SOTTO_ALLOW_LIST %q, sotto device allow's default %q", v, defaultAllowList)
	}
	if v, _ := prod("SOTTO_KEY_DIR"); v != defaultKeyDir {
		t.Errorf(".env.production SOTTO_KEY_DIR %q, sotto keys' default %q", v, defaultKeyDir)
	}
}
