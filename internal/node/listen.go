package node

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/sottolabs/sotto/server/config"
)

// listen opens a TCP or UNIX-socket listener. A socket is created 0660 so
// only the service's group (the reverse proxy) can connect.
func listen(a config.Addr) (net.Listener, error) {
	if a.Network == "unix" {
		_ = os.Remove(a.Address)
		ln, err := net.Listen("unix", a.Address)
		if err != nil {
			return nil, fmt.Errorf("node: listen: %w", err)
		}
		if err := os.Chmod(a.Address, 0o660); err != nil {
			ln.Close()
			return nil, fmt.Errorf("node: listen: %w", err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", a.Address)
	if err != nil {
		return nil, fmt.Errorf("node: listen: %w", err)
	}
	return ln, nil
}

func serveErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// httpErrorLog receives net/http's own error lines, which carry the
// client's address ("TLS handshake error from 203.0.113.9:41234: ...").
// Client addresses stay out of the logs: only the kind of error is kept.
type httpErrorLog struct{ log *slog.Logger }

func (h httpErrorLog) Write(p []byte) (int, error) {
	switch {
	case bytes.Contains(p, []byte("TLS handshake error")):
		h.log.Debug("tls handshake failed")
	case bytes.Contains(p, []byte("panic serving")):
		h.log.Error("http handler panicked")
	default:
		h.log.Warn("http server error")
	}
	return len(p), nil
}
