package enrol

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/sottolabs/sotto/crypto/device"
)

// Revocations is the operator's revocation file (docs/enrolment.md): one
// rule a line, blank lines and everything after '#' ignored:
//
//	device <Sotto-Device value>        a device key
//	app_version <platform> <version>   an app version on a platform
//	environment <environment>          every credential of an environment
//
// Revoked credentials are refused at once (Policy) and not issued again.
// The zero path has no rules. Reload re-reads the file (SIGHUP).
type Revocations struct {
	path  string
	mu    sync.RWMutex
	rules map[string]struct{}
}

// LoadRevocations reads the file at path; "" is an empty list.
func LoadRevocations(path string) (*Revocations, error) {
	r := &Revocations{path: path, rules: map[string]struct{}{}}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload re-reads the file; on error the previous rules stay.
func (r *Revocations) Reload() error {
	if r.path == "" {
		return nil
	}
	data, err := os.ReadFile(r.path)
	if err != nil {
		return fmt.Errorf("enrol: revocations: %w", err)
	}
	rules := map[string]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		rule, ok := parseRule(f)
		if !ok {
			return fmt.Errorf("enrol: revocations %s, line %d: not a rule", r.path, n)
		}
		rules[rule] = struct{}{}
	}
	r.mu.Lock()
	r.rules = rules
	r.mu.Unlock()
	return nil
}

// parseRule normalises one line's fields into a rule key.
func parseRule(f []string) (string, bool) {
	switch {
	case f[0] == "device" && len(f) == 2:
		k, err := device.ParseKey(f[1])
		if err != nil {
			return "", false
		}
		return "device " + Subject(k), true
	case f[0] == "app_version" && len(f) == 3:
		return "app_version " + f[1] + " " + f[2], true
	case f[0] == "environment" && len(f) == 2:
		return "environment " + f[1], true
	}
	return "", false
}

// Revoked reports whether a rule matches the claims.
func (r *Revocations) Revoked(c Claims) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range []string{"device " + c.Subject, "app_version " + c.Platform + " " + c.AppVersion, "environment " + c.Environment} {
		if _, ok := r.rules[k]; ok {
			return true
		}
	}
	return false
}
