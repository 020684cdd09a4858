package config

import (
	"errors"
	"io/fs"
	"os"

	"github.com/joho/godotenv"
)

// DefaultDotEnv is the .env file FromProcess reads by default.
const DefaultDotEnv = ".env"

// FromProcess loads the configuration from the process environment, backed
// by the .env file at dotenvPath ("" for none). A missing file is not an
// error. The process environment always wins over the file, and the file
// never modifies the process environment.
func FromProcess(dotenvPath string) (Config, error) {
	lookup, err := WithDotEnv(os.LookupEnv, dotenvPath)
	if err != nil {
		return Config{}, err
	}
	return Load(lookup)
}

// WithDotEnv returns a Lookup that asks primary first and falls back to the
// variables of the .env file at path. The file's parse errors are reported
// without its text, which may hold values not meant for logs.
func WithDotEnv(primary Lookup, path string) (Lookup, error) {
	if path == "" {
		return primary, nil
	}
	file, err := godotenv.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return primary, nil
	case err != nil:
		return nil, &VarError{Var: path, Reason: "cannot read or parse the .env file"}
	}
	return func(name string) (string, bool) {
		if v, ok := primary(name); ok {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}
