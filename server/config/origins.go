package config

import (
	"net/url"
	"strings"
)

// Origins is a comma-separated list of web origins (SOTTO_CORS_ORIGINS):
// each "http(s)://host[:port]" exactly as a browser serializes it (lower
// case, no path, no trailing slash, no default port), or "null", the
// opaque origin of a page opened from a file. "*" is refused: a wildcard
// would let any page on the web use a device key it can reach.
type Origins []string

// UnmarshalText parses the list; empty entries are skipped.
func (o *Origins) UnmarshalText(b []byte) error {
	var out Origins
	for s := range strings.SplitSeq(string(b), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !validOrigin(s) {
			return reasonError("must be a comma-separated list of origins (https://host[:port], as a browser sends them) or null")
		}
		out = append(out, s)
	}
	*o = out
	return nil
}

// validOrigin reports whether s is "null" or an origin in the exact form
// browsers send in the Origin header.
func validOrigin(s string) bool {
	if s == "null" {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false
	}
	if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
		return false // browsers omit the default port
	}
	return s == u.Scheme+"://"+strings.ToLower(u.Host)
}

var _ interface{ UnmarshalText([]byte) error } = (*Origins)(nil)
