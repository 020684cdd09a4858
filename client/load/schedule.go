package load

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Step is one stage of an open-loop run: Poisson arrivals at Rate per
// second for For.
type Step struct {
	Rate float64
	For  time.Duration
}

// ParseRamp reads "RATE@DURATION,RATE@DURATION,...", e.g. "1@30s,2@30s".
func ParseRamp(s string) ([]Step, error) {
	var steps []Step
	for part := range strings.SplitSeq(s, ",") {
		r, d, ok := strings.Cut(strings.TrimSpace(part), "@")
		rate, err := strconv.ParseFloat(r, 64)
		if !ok || err != nil || rate <= 0 {
			return nil, fmt.Errorf("load: ramp step %q: want RATE@DURATION with RATE > 0", part)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("load: ramp step %q: want RATE@DURATION with DURATION > 0", part)
		}
		steps = append(steps, Step{Rate: rate, For: dur})
	}
	if len(steps) == 0 {
		return nil, errors.New("load: empty ramp")
	}
	return steps, nil
}

// Arrival is one conversation start of an open-loop run: its offset from
// the run's start and the ramp step it belongs to.
type Arrival struct {
	At   time.Duration
	Step int
}

// Arrivals returns the Poisson arrival times of steps (exponential gaps
// with mean 1/Rate, drawn from a generator seeded with seed), at most
// limit of them (0: no limit). The same seed gives the same schedule. A
// step with For == 0 lasts until limit; it must be the last.
func Arrivals(steps []Step, seed uint64, limit int) []Arrival {
	r := rand.New(rand.NewPCG(seed, 0xa771_7a15))
	var out []Arrival
	var stepStart, t time.Duration
	for i, s := range steps {
		end := stepStart + s.For
		for limit == 0 || len(out) < limit {
			t += time.Duration(r.ExpFloat64() / s.Rate * float64(time.Second))
			if s.For > 0 && t >= end {
				break
			}
			out = append(out, Arrival{At: t, Step: i})
		}
		if s.For == 0 || (limit > 0 && len(out) >= limit) {
			break
		}
		// Memorylessness: restarting the clock at the step boundary keeps
		// the next step a Poisson process of its own rate.
		stepStart, t = end, end
	}
	return out
}
