package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/internal/testenv"
)

// TestShutdownAnswersNewChats checks docs/protocol.md 5.4 from outside,
// over TCP: after SIGTERM (Run's context ends), while a chat the server
// had begun to receive still runs, a chat on a new connection and one on
// a kept-alive connection get 503 #overloaded with Retry-After: 5, and the
// chat still uploading its body is served (200, a complete stream). Then
// Run returns and the listener is closed.
func TestShutdownAnswersNewChats(t *testing.T) {
	r := startNode(t, map[string]string{"SOTTO_MODEL": testenv.Model(t, "stories260K.gguf"), "SHUTDOWN_GRACE_SECONDS": "60"})
	addr := strings.TrimPrefix(r.url, "http://")
	idle := dial(t, addr)
	if resp := roundTrip(t, idle, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("live: %d", resp.StatusCode)
	}
	// A chat whose headers the server has read: it answers 100 Continue
	// when the handler starts reading the body.
	body, header := sealedChat(t, r)
	upload := dial(t, addr)
	fmt.Fprintf(upload.c, "POST /api/chat HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n%s\r\n", len(body), headerLines(header))
	if line, err := upload.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q (%v)", line, err)
	}
	_, _ = upload.r.ReadString('\n') // the blank line after 100 Continue

	r.cancel() // SIGTERM
	for i := 0; ; i++ {
		fresh, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("a new connection after SIGTERM, with a chat running: %v", err)
		}
		c := &conn{c: fresh, r: bufio.NewReader(fresh)}
		resp := roundTrip(t, c, "GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
		fresh.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if i == 500 {
			t.Fatal("the readiness probe never failed after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, h := sealedChat(t, r)
	wantOverloaded(t, "a new connection", roundTrip(t, dial(t, addr), chatRequest(b, h)))
	b, h = sealedChat(t, r)
	wantOverloaded(t, "a kept-alive connection", roundTrip(t, idle, chatRequest(b, h)))

	if _, err := upload.c.Write(body); err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, upload)
	stream, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.HasSuffix(stream, []byte("\n\n")) || bytes.Count(stream, []byte("data:")) < 2 {
		t.Fatalf("the chat uploading at SIGTERM: %d, %d bytes of stream", resp.StatusCode, len(stream))
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after Run returned")
	}
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c: c, r: bufio.NewReader(c)}
}

func roundTrip(t *testing.T, c *conn, req string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c.c, req); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, c)
}

func readResponse(t *testing.T, c *conn) *http.Response {
	t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	// Read the body now, so the connection is ready for the next request.
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("answer cut: %v", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func wantOverloaded(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	doc, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" || !bytes.Contains(doc, []byte("#overloaded")) {
		t.Fatalf("a chat on %s after SIGTERM: %d, Retry-After %q, %s", what, resp.StatusCode, resp.Header.Get("Retry-After"), doc)
	}
}

func chatRequest(body []byte, h http.Header) string {
	return fmt.Sprintf("POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n%s", len(body), headerLines(h), body)
}

func headerLines(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}

// errCaptured stops the SDK's request once it is sealed and signed.
var errCaptured = errors.New("captured")

type captureTransport struct {
	body   []byte
	header http.Header
}

func (c *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost {
		return http.DefaultTransport.RoundTrip(req)
	}
	c.body, _ = io.ReadAll(req.Body)
	c.header = http.Header{}
	for _, k := range []string{"Content-Type", "Sotto-Device", "Sotto-Signature"} {
		c.header.Set(k, req.Header.Get(k))
	}
	return nil, errCaptured
}

// sealedChat is a chat sealed and signed by the SDK for the node's
// enrolled device, not sent.
func sealedChat(t *testing.T, r *running) ([]byte, http.Header) {
	t.Helper()
	ct := &captureTransport{}
	cl, err := client.New(client.Config{BaseURL: r.url, SigningKey: r.n.keys.SigningPublicKey(), DeviceKey: r.priv,
		HTTPClient: &http.Client{Transport: ct}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Chat(t.Context(), greedy("Once upon a time", 8), func([]byte) error { return nil }); !errors.Is(err, errCaptured) {
		t.Fatalf("capture: %v", err)
	}
	return ct.body, ct.header
}
