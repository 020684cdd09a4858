package config

import (
	"regexp"
	"strings"
	"time"
)

// Words is a comma-separated list of identifiers (App IDs, package names,
// certificate digests): letters, digits and ". _ - =" only.
type Words []string

var wordRE = regexp.MustCompile(`^[A-Za-z0-9._=-]+$`)

// UnmarshalText parses the list; empty entries are skipped.
func (w *Words) UnmarshalText(b []byte) error {
	var out Words
	for s := range strings.SplitSeq(string(b), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !wordRE.MatchString(s) {
			return reasonError("must be a comma-separated list of identifiers (letters, digits, '.', '_', '-')")
		}
		out = append(out, s)
	}
	*w = out
	return nil
}

// appIDRE is "<10-character team ID>.<bundle ID>".
var appIDRE = regexp.MustCompile(`^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$`)

// enrolRules check the enrolment settings (docs/enrolment.md).
var enrolRules = []rule{
	{"SOTTO_DEVICE_POLICY", func(c *Config) string {
		switch {
		case !c.DevicePolicy.IsAttested():
			return ""
		case c.Role == RoleRouter:
			return "" // a router relays enrolment; its workers hold the settings
		case len(c.EnrolAppleAppIDs) == 0 && len(c.EnrolAndroidPackages) == 0 && !c.EnrolSoftware:
			return "attested needs SOTTO_ENROL_APPLE_APP_IDS, SOTTO_ENROL_ANDROID_PACKAGES or (development) SOTTO_ENROL_SOFTWARE"
		}
		return ""
	}},
	{"SOTTO_ALLOW_LIST", func(c *Config) string {
		if c.DevicePolicy == AttestedAllowList && c.AllowList == "" {
			return "required when SOTTO_DEVICE_POLICY is attested+allowlist"
		}
		return ""
	}},
	{"SOTTO_ENROL_APPLE_APP_IDS", func(c *Config) string {
		for _, id := range c.EnrolAppleAppIDs {
			if !appIDRE.MatchString(id) {
				return "must be App IDs: <10-character team ID>.<bundle ID>"
			}
		}
		return ""
	}},
	{"SOTTO_ENROL_ANDROID_PACKAGES", func(c *Config) string {
		if len(c.EnrolAndroidPackages) > 0 && c.EnrolAndroidKeys == "" {
			return "needs SOTTO_ENROL_ANDROID_KEYS (the Play Integrity response keys)"
		}
		return ""
	}},
	{"SOTTO_ENROL_ANDROID_KEYS", func(c *Config) string {
		if c.EnrolAndroidKeys != "" && len(c.EnrolAndroidPackages) == 0 {
			return "set without SOTTO_ENROL_ANDROID_PACKAGES"
		}
		return ""
	}},
	{"SOTTO_ENROL_DEVELOPMENT", func(c *Config) string {
		if c.EnrolDevelopment && c.Environment == Production {
			return "refused in production (development-signed apps prove less)"
		}
		return ""
	}},
	{"SOTTO_ENROL_SOFTWARE", func(c *Config) string {
		if c.EnrolSoftware && c.Environment == Production {
			return "refused in production (the software attester proves nothing about the device)"
		}
		return ""
	}},
	intRange("SOTTO_ENROL_TTL_SECONDS", func(c *Config) int { return c.EnrolTTLSeconds }, 60, 30*86400, "must be between 60 and 2592000 (30 days)"),
}

// EnrolTTL is SOTTO_ENROL_TTL_SECONDS as a duration: a credential's
// lifetime, the interval at which devices re-check.
func (c *Config) EnrolTTL() time.Duration { return time.Duration(c.EnrolTTLSeconds) * time.Second }
