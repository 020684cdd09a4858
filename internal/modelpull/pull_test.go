package modelpull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fileData is a deterministic 2 MB "model".
var fileData = func() []byte {
	b := make([]byte, 2_000_000)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}()

func entryFor(url string, data []byte) Entry {
	sum := sha256.Sum256(data)
	return Entry{Name: "test", File: "m.gguf", URL: url, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// server serves fileData with Range support; cutAt > 0 makes the first
// request die after that many bytes. It records the Range headers seen.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
}

func newServer(t *testing.T, cutAt int) *server {
	s := &server{}
	first := true
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		cut := first && cutAt > 0
		first = false
		s.mu.Unlock()
		if cut {
			w.Header().Set("Content-Length", fmt.Sprint(len(fileData)))
			w.Write(fileData[:cutAt])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-body
		}
		http.ServeContent(w, r, "m.gguf", time.Time{}, bytes.NewReader(fileData))
	}))
	t.Cleanup(s.Close)
	return s
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, err %v; want the %d served bytes", path, len(got), err, len(want))
	}
}

func assertGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s should not exist (stat: %v)", p, err)
		}
	}
}

// TestPullResumesAfterCut: a transfer cut part-way keeps the part file;
// the next pull asks for the rest with Range and ends with the exact file.
func TestPullResumesAfterCut(t *testing.T) {
	s := newServer(t, 700_000)
	dir := t.TempDir()
	e := entryFor(s.URL+"/m.gguf", fileData)
	_, err := Pull(context.Background(), e, dir, Options{})
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "m.gguf.part is kept: run the pull again to resume") {
		t.Fatalf("first pull: %v", err)
	}
	part := filepath.Join(dir, "m.gguf.part")
	if fi, err := os.Stat(part); err != nil || fi.Size() != 700_000 {
		t.Fatalf("part after the cut: %v, %v", fi, err)
	}
	var out bytes.Buffer
	path, err := Pull(context.Background(), e, dir, Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, fileData)
	assertGone(t, part)
	if want := []string{"", "bytes=700000-"}; fmt.Sprint(s.ranges) != fmt.Sprint(want) {
		t.Fatalf("Range headers %q, want %q", s.ranges, want)
	}
	if !strings.HasPrefix(out.String(), "pull: resuming m.gguf at 0.7 MB of 2.0 MB\n") {
		t.Fatalf("output:\n%s", out.String())
	}
	// A third pull finds the verified file and downloads nothing.
	out.Reset()
	if _, err := Pull(context.Background(), e, dir, Options{Out: &out}); err != nil {
		t.Fatal(err)
	}
	if want := "pull: " + path + " is already here (sha256 verified)\n"; out.String() != want || len(s.ranges) != 2 {
		t.Fatalf("third pull: %q after %d requests", out.String(), len(s.ranges))
	}
}

// TestPullWrongHash: bytes that are not the pinned file are deleted and
// never get the final name.
func TestPullWrongHash(t *testing.T) {
	s := newServer(t, 0)
	dir := t.TempDir()
	e := entryFor(s.URL+"/m.gguf", fileData)
	e.SHA256 = strings.Repeat("0", 64)
	_, err := Pull(context.Background(), e, dir, Options{})
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "the download was deleted") {
		t.Fatalf("err = %v", err)
	}
	assertGone(t, filepath.Join(dir, "m.gguf"), filepath.Join(dir, "m.gguf.part"))
}

// TestPull404: a missing file is a StatusError with the code; nothing is
// written.
func TestPull404(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	defer s.Close()
	dir := t.TempDir()
	_, err := Pull(context.Background(), entryFor(s.URL+"/m.gguf", fileData), dir, Options{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound {
		t.Fatalf("err = %v", err)
	}
	assertGone(t, filepath.Join(dir, "m.gguf"), filepath.Join(dir, "m.gguf.part"))
}

// TestPullOffline: an unreachable server yields the manual steps.
func TestPullOffline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/m.gguf"
	ln.Close() // nothing listens there now
	dir := t.TempDir()
	e := entryFor(url, fileData)
	_, err = Pull(context.Background(), e, dir, Options{})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"this machine looks offline", "download " + url, "check its sha256 is " + e.SHA256,
		"copy it to " + filepath.Join(dir, "m.gguf"), "sotto model pull test again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
}

// TestPullNoRangeSupport: a server that answers a Range request with the
// whole file (200) makes the pull start over, not append.
func TestPullNoRangeSupport(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(fileData) }))
	defer s.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.gguf.part"), fileData[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := Pull(context.Background(), entryFor(s.URL, fileData), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, fileData)
}

// TestPullLeavesDifferentFileAlone: a file in the way is not the pinned
// one: an error, and the file is untouched.
func TestPullLeavesDifferentFileAlone(t *testing.T) {
	dir := t.TempDir()
	other := []byte("someone else's model")
	if err := os.WriteFile(filepath.Join(dir, "m.gguf"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), entryFor("http://127.0.0.1:1/m.gguf", fileData), dir, Options{})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "move it away and pull again") {
		t.Fatalf("err = %v", err)
	}
	assertFile(t, filepath.Join(dir, "m.gguf"), other)
}

// TestPullSlowServerProgress: a server that trickles the file in 20
// pieces gives one plain progress line per tenth, in order, each with
// bytes, rate and time left.
func TestPullSlowServerProgress(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(fileData)))
		step := len(fileData) / 20
		for i := 0; i < len(fileData); i += step {
			w.Write(fileData[i:min(i+step, len(fileData))])
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	}))
	defer s.Close()
	var out bytes.Buffer
	if _, err := Pull(context.Background(), entryFor(s.URL, fileData), t.TempDir(), Options{Out: &out}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 13 || lines[0] != "pull: downloading m.gguf (2.0 MB) from "+strings.TrimPrefix(s.URL, "http://") {
		t.Fatalf("output:\n%s", out.String())
	}
	// A line comes with the first read that crosses a tenth and reports
	// the bytes then: how the pieces arrive over TCP decides whether the
	// first tenth reads 10% or, with two pieces in one read, 11%.
	re := regexp.MustCompile(`^pull: m\.gguf +([0-9]+)% ([0-9.]+) MB of 2\.0 MB, [0-9.]+ MB/s, ETA [0-9hms.]+$`)
	for i, line := range lines[1:11] {
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d = %q, want it to match %s", i+1, line, re)
		}
		pct, _ := strconv.Atoi(m[1])
		mb, _ := strconv.ParseFloat(m[2], 64)
		if pct/10 != i+1 || mb < float64(pct)*0.02-0.05 || mb > float64(pct+1)*0.02+0.05 {
			t.Errorf("line %d = %q: want %d%% to %d%%, with the bytes of that share of 2.0 MB", i+1, line, (i+1)*10, (i+1)*10+9)
		}
	}
	if lines[11] != "pull: verifying sha256 of m.gguf" || !strings.HasSuffix(lines[12], "m.gguf ready (2000000 bytes, sha256 verified)") {
		t.Fatalf("end of output:\n%s", out.String())
	}
}

// TestPullTerminalBar: on a terminal the bar shows the file, bytes and
// percentage, and ends at 100%.
func TestPullTerminalBar(t *testing.T) {
	s := newServer(t, 0)
	var out bytes.Buffer
	if _, err := Pull(context.Background(), entryFor(s.URL, fileData), t.TempDir(), Options{Out: &out, Terminal: true}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`m\.gguf 100% .*\(2\.0/2\.0 MB`).MatchString(out.String()) {
		t.Fatalf("bar output:\n%q", out.String())
	}
}

// TestLookup: the default entry is pinned at a revision with a hash; an
// unknown name lists the known ones.
func TestLookup(t *testing.T) {
	e, err := Lookup("qwen2.5-0.5b")
	if err != nil || e.Size != 491400032 || len(e.SHA256) != 64 || !strings.Contains(e.URL, "/resolve/9217f5db79a29953eb74d5343926648285ec7e67/") {
		t.Fatalf("%+v, %v", e, err)
	}
	if _, err := Lookup("gpt-5"); !errors.Is(err, ErrUnknown) || err.Error() != `modelpull: unknown model "gpt-5" (known: qwen2.5-0.5b)` {
		t.Fatalf("err = %v", err)
	}
}

// TestPullRefusesPartSymlink: a symbolic link planted at .part receives
// nothing and is never renamed into place (issue 17, item 9).
func TestPullRefusesPartSymlink(t *testing.T) {
	s := newServer(t, 0)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "m.gguf.part")); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), entryFor(s.URL, fileData), dir, Options{})
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Pull over a .part symlink: %v, want ErrNotRegular", err)
	}
	assertFile(t, victim, []byte("keep"))
	assertGone(t, filepath.Join(dir, "m.gguf"))
}

// TestPullRenamesTheVerifiedFile: a .part swapped for another file after
// its verification is not left in place as the model.
func TestPullRenamesTheVerifiedFile(t *testing.T) {
	s := newServer(t, 0)
	dir := t.TempDir()
	part := filepath.Join(dir, "m.gguf.part")
	beforeRename = func() {
		os.Remove(part)
		_ = os.WriteFile(part, []byte("not the model"), 0o644)
	}
	t.Cleanup(func() { beforeRename = func() {} })
	_, err := Pull(context.Background(), entryFor(s.URL, fileData), dir, Options{})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("Pull with .part swapped after verification: %v, want ErrChecksum", err)
	}
	assertGone(t, filepath.Join(dir, "m.gguf"))
}
