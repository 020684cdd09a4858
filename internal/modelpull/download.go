package modelpull

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// download appends the rest of the file (from byte have) to part.
func download(ctx context.Context, e Entry, part string, have int64, o *Options) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return fmt.Errorf("modelpull: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := o.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("modelpull: %w", ctx.Err())
		}
		return unreachable(e, strings.TrimSuffix(part, ".part"), err)
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	switch {
	case resp.StatusCode == http.StatusPartialContent && contentRangeStart(resp) == have:
	case resp.StatusCode == http.StatusOK: // no range support: start over
		have, flags = 0, flags|os.O_TRUNC
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		return nil // nothing left to fetch; verification decides
	default:
		return &StatusError{Code: resp.StatusCode, URL: e.URL}
	}
	f, err := openPart(part, flags)
	if err != nil {
		return err
	}
	n, err := copyWithProgress(f, io.LimitReader(resp.Body, e.Size-have), e, have, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && have+n < e.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("%w after %d of %d bytes (%w); %s is kept: run the pull again to resume",
			ErrInterrupted, have+n, e.Size, err, filepath.Base(part))
	}
	return nil
}

// copyWithProgress copies body to f, reporting to the progress display.
func copyWithProgress(f io.Writer, body io.Reader, e Entry, have int64, o *Options) (int64, error) {
	if have > 0 {
		fmt.Fprintf(o.out(), "pull: resuming %s at %s of %s\n", e.File, megabytes(have), megabytes(e.Size))
	} else {
		fmt.Fprintf(o.out(), "pull: downloading %s (%s) from %s\n", e.File, megabytes(e.Size), host(e.URL))
	}
	p := newProgress(o, e, have)
	n, err := io.Copy(io.MultiWriter(f, p), body)
	p.finish(err == nil && have+n == e.Size)
	return n, err
}

// contentRangeStart reads the first byte position of a Content-Range
// ("bytes 100-199/200"); -1 if absent or malformed.
func contentRangeStart(resp *http.Response) int64 {
	var start, end, total int64
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil {
		return -1
	}
	return start
}

// unreachable explains what to do without a network.
func unreachable(e Entry, dest string, err error) error {
	return fmt.Errorf("%w %s (%w): this machine looks offline.\n"+
		"To install the model by hand:\n"+
		"  1. on a connected machine, download %s\n"+
		"  2. check its sha256 is %s (sha256sum FILE)\n"+
		"  3. copy it to %s\n"+
		"  4. run sotto model pull %s again to verify it, or point SOTTO_MODEL at it",
		ErrUnreachable, host(e.URL), err, e.URL, e.SHA256, dest, e.Name)
}

func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the download server"
	}
	return u.Host
}

// megabytes formats n bytes in MB (10^6), as download sizes are quoted.
func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
