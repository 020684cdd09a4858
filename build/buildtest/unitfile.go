package buildtest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// unit is a parsed systemd unit file: every assignment of every section,
// in file order. Continuation lines and specifier expansion are not
// supported; the units under build/ use neither.
type unit map[string][]string // "Section.Key" -> values

// parseUnit reads a unit file.
func parseUnit(path string) (unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("buildtest: %s:%d: not an assignment", path, n)
			}
			key := section + "." + strings.TrimSpace(k)
			u[key] = append(u[key], strings.TrimSpace(v))
		}
	}
	return u, sc.Err()
}

// last returns the effective value of a single-valued setting.
func (u unit) last(key string) string {
	v := u[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// environment returns the Service.Environment= assignments as KEY=VALUE.
func (u unit) environment() []string {
	var env []string
	for _, v := range u["Service.Environment"] {
		env = append(env, strings.Fields(v)...)
	}
	return env
}
