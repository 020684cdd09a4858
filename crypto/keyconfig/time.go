package keyconfig

import (
	"fmt"
	"time"
)

// TimeLayout is the only accepted spelling of a time in the document.
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime returns t in UTC spelled as TimeLayout, truncated to seconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// ParseTime parses s, which must be spelled exactly as TimeLayout
// (UTC, "Z", no fractional seconds). The error never quotes s.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	// time.Parse accepts some variants (for example fractional seconds
	// after the seconds field); reformatting and comparing refuses them.
	if err != nil || t.Format(TimeLayout) != s {
		return time.Time{}, ErrTimeFormat
	}
	return t, nil
}

// timeField parses the string s of the named member.
func timeField(name, s string) (time.Time, error) {
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w (member %s)", err, name)
	}
	return t, nil
}
