package modelpull

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is an io.Writer that counts the bytes written through it.
type progress interface {
	io.Writer
	finish(complete bool)
}

func newProgress(o *Options, e Entry, have int64) progress {
	if o.Terminal {
		return newBar(o.out(), e, have)
	}
	return newLines(o.out(), e, have, time.Now)
}

// bar is the terminal display: bytes, rate and time left, redrawn in
// place.
type bar struct {
	*progressbar.ProgressBar
	w io.Writer
}

func newBar(w io.Writer, e Entry, have int64) *bar {
	b := progressbar.NewOptions64(e.Size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(e.File),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
	)
	_ = b.Set64(have)
	return &bar{b, w}
}

func (b *bar) finish(complete bool) {
	if complete {
		_ = b.Finish()
	}
	_ = b.Exit()
	fmt.Fprintln(b.w)
}

// lines is the display for logs and pipes: one line at each tenth of the
// file, with the rate so far and the time left at that rate.
type lines struct {
	w           io.Writer
	name        string
	total, done int64
	from        int64 // bytes present when this attempt started
	start       time.Time
	now         func() time.Time
	next        int64 // the next percentage to report
}

func newLines(w io.Writer, e Entry, have int64, now func() time.Time) *lines {
	l := &lines{w: w, name: e.File, total: e.Size, done: have, from: have, start: now(), now: now}
	l.next = (have*100/max(e.Size, 1))/10*10 + 10
	return l
}

func (l *lines) Write(p []byte) (int, error) {
	l.done += int64(len(p))
	pct := l.done * 100 / max(l.total, 1)
	if pct >= l.next {
		l.report(pct)
		l.next = pct/10*10 + 10
	}
	return len(p), nil
}

func (l *lines) report(pct int64) {
	elapsed := l.now().Sub(l.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(l.done-l.from) / elapsed
	}
	left := "unknown"
	if rate > 0 {
		left = time.Duration(float64(l.total-l.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(l.w, "pull: %s %3d%% %s of %s, %.1f MB/s, ETA %s\n",
		l.name, pct, megabytes(l.done), megabytes(l.total), rate/1e6, left)
}

func (l *lines) finish(bool) {}
