//go:build cgo && linux

package server_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// wireConn reads a TCP connection as a network capture sees it: each
// read comes with the kernel's receive time of its bytes (SO_TIMESTAMPNS,
// what tcpdump stamps a packet with), not the time the relay's goroutine
// got to run. The relay shares the machine's two cores with the engine;
// its own wake-up delay, longer while the engine computes, is not on the
// wire, and would credit the server with a leak the network does not see.
type wireConn struct {
	raw syscall.RawConn
	oob []byte
}

func newWireConn(c net.Conn) (*wireConn, error) {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return nil, err
	}
	if err := stampOn(raw); err != nil {
		return nil, err
	}
	return &wireConn{raw: raw, oob: make([]byte, 128)}, nil
}

// stampOn sets SO_TIMESTAMPNS on a socket.
func stampOn(raw syscall.RawConn) error {
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
	}
	return nil
}

// stampListener sets SO_TIMESTAMPNS on the observer's listener, which its
// connections inherit, and waits until the kernel stamps what arrives:
// the kernel turns receive stamping on a moment after the first socket
// asks (and off after the last one closes), so the listener, open for the
// observer's life, keeps it on, and a probe connection shows it is.
func stampListener(ln net.Listener) error {
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		return err
	}
	if err := stampOn(raw); err != nil {
		return err
	}
	for range 100 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		s, err := ln.Accept()
		if err != nil {
			c.Close()
			return err
		}
		_, _ = c.Write([]byte("x"))
		w, err := newWireConn(s)
		var at time.Time
		if err == nil {
			_, at, err = w.read(make([]byte, 1))
		}
		c.Close()
		s.Close()
		if err != nil {
			return err
		}
		if !at.IsZero() {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the kernel stamps no received bytes after 1 s")
}

// read is Read with the kernel's time of the bytes read (of the latest
// segment among them; the zero time for bytes received before newWireConn);
// n == 0 with a nil error is the peer's end.
func (w *wireConn) read(buf []byte) (n int, at time.Time, err error) {
	var oobn int
	rerr := w.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, err = unix.Recvmsg(int(fd), buf, w.oob, 0)
		return err != unix.EAGAIN
	})
	if rerr != nil {
		return 0, time.Time{}, rerr
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	msgs, err := unix.ParseSocketControlMessage(w.oob[:oobn])
	if err != nil {
		return n, time.Time{}, err
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			// struct timespec on a 64-bit Linux: seconds, nanoseconds.
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return n, time.Unix(sec, nsec), nil
		}
	}
	// Bytes that arrived before SO_TIMESTAMPNS was set carry no time (the
	// start of the handshake): the zero time.
	return n, time.Time{}, nil
}
