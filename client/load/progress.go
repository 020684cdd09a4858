package load

import (
	"fmt"
	"strings"
	"time"
)

// progress draws a one-line bar on cfg.Progress every 200 ms until the
// returned function is called: done against Count (or elapsed time
// against Duration), and the failures so far.
func (r *runner) progress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				r.drawBar()
				fmt.Fprintln(r.cfg.Progress)
				return
			case <-t.C:
				r.drawBar()
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func (r *runner) drawBar() {
	const width = 30
	var frac float64
	elapsed := time.Since(r.begin)
	switch {
	case r.cfg.Count > 0:
		frac = float64(r.started.Load()) / float64(r.cfg.Count)
	case r.cfg.Duration > 0:
		frac = elapsed.Seconds() / r.cfg.Duration.Seconds()
	default:
		var total time.Duration
		for _, s := range r.cfg.Ramp {
			total += s.For
		}
		frac = elapsed.Seconds() / total.Seconds()
	}
	n := int(min(max(frac, 0), 1) * width)
	done := r.done.Load()
	fmt.Fprintf(r.cfg.Progress, "\r[%s%s] %3.0f%% %d done, %d failed, %.1f req/s ",
		strings.Repeat("#", n), strings.Repeat(".", width-n), min(frac, 1)*100,
		done, r.failed.Load(), float64(done)/max(elapsed.Seconds(), 1e-3))
}
