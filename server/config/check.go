package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Check reads and validates the configuration like Load, but returns the
// configuration it could read together with every problem: parse errors
// first, then the rules broken by the variables that did parse. It is for
// `sotto config check`; the server uses Load.
func Check(lookup Lookup) (Config, error) {
	var cfg Config
	var errs []error
	parseErr := env.ParseWithOptions(&cfg, env.Options{Environment: snapshot(lookup)})
	unparsed := map[string]bool{}
	if parseErr != nil {
		for _, e := range flatten(translate(parseErr)) {
			var ve *VarError
			if errors.As(e, &ve) {
				unparsed[ve.Var] = true
			}
			errs = append(errs, e)
		}
	}
	cfg.applyDerivedDefaults()
	for _, e := range flatten(cfg.Validate()) {
		var ve *VarError
		if errors.As(e, &ve) && unparsed[ve.Var] {
			continue // already reported: the value could not be read at all
		}
		errs = append(errs, e)
	}
	return cfg, errors.Join(errs...)
}

// flatten lists the errors an errors.Join holds.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Setting is one variable's effective value as `sotto config check`
// prints it.
type Setting struct {
	Var   string
	Value string // "********" for a set secret
}

// masked replaces the value of a secret variable.
const masked = "********"

// Effective returns every variable's value in c, in field order, in the
// form the variable is written; secrets that are set are masked.
func Effective(c Config) []Setting {
	v := reflect.ValueOf(c)
	t := v.Type()
	out := make([]Setting, 0, t.NumField())
	for i := range t.NumField() {
		name := envName(t.Field(i))
		s := formatValue(v.Field(i))
		if Secret(name) && s != "" {
			s = masked
		}
		out = append(out, Setting{Var: name, Value: s})
	}
	return out
}

// formatValue writes a field back in the syntax its variable uses.
func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Addr:
		return x.String()
	case Prefixes:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = p.String()
		}
		return strings.Join(parts, ",")
	case URLs:
		return strings.Join(x, ",")
	case Pins:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = base64.StdEncoding.EncodeToString(p[:])
		}
		return strings.Join(parts, ",")
	case fmt.Stringer:
		return strings.ToLower(x.String()) // slog.Level
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}
