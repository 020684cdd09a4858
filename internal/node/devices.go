package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
)

// allowListWatchInterval is how often the allow-list file is checked for
// a change: one stat, so an enrolment takes effect within about a second
// without a signal.
const allowListWatchInterval = time.Second

// DevDeviceKeyName is the development device key the server creates
// beside a missing development allow-list (dev/device.key: what
// sotto chat --dev reads).
const DevDeviceKeyName = "device.key"

func (n *Node) devicePolicy() (device.Policy, error) {
	if n.plan.Devices.Open {
		return device.NewOpenPolicy(), nil
	}
	if n.plan.Enrol.On {
		return n.attestedPolicy()
	}
	path := n.plan.Devices.AllowList
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && n.plan.Devices.CreateIfMissing {
		if err := n.createDevAllowList(path); err != nil {
			return nil, err
		}
	}
	al, err := device.LoadAllowList(path)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n.allowList = al
	n.log.Info("allow-list loaded", "path", path, "devices", al.Len())
	return al, nil
}

// createDevAllowList makes the development allow-list at path with one
// device: the key file device.key beside it (created when missing, as
// sotto device init would). The log names the files, never the key.
func (n *Node) createDevAllowList(path string) error {
	keyPath := filepath.Join(filepath.Dir(path), DevDeviceKeyName)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("node: development allow-list: %w", err)
	}
	priv, err := device.ReadKeyFile(keyPath, n.budget)
	if errors.Is(err, fs.ErrNotExist) {
		if priv, err = device.GenerateEd25519(rand.Reader, n.budget); err == nil {
			err = device.WriteKeyFile(keyPath, priv.Bytes(), n.budget)
		}
	}
	if err != nil {
		return fmt.Errorf("node: development device %s: %w", keyPath, err)
	}
	defer priv.Destroy()
	pub, err := device.PublicKey(ed25519.PrivateKey(priv.Bytes()))
	if err != nil {
		return fmt.Errorf("node: development device: %w", err)
	}
	if err := device.Allow(path, pub); err != nil {
		return fmt.Errorf("node: development allow-list: %w", err)
	}
	n.log.Warn("development: created an allow-list with one development device", "allow_list", path, "device_key", keyPath)
	return nil
}

// fileStamp identifies a version of a file: a change of size, time or
// inode (an editor's rename) means it was written.
type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.Size(), fi.ModTime(), inode(fi)}, nil
}

// watchAllowList re-reads the allow-list whenever its file changes, until
// ctx ends, and logs the counts (never a key). A file that does not parse
// keeps the previous list, and says so.
func (n *Node) watchAllowList(ctx context.Context) {
	if n.allowList == nil {
		return
	}
	path := n.plan.Devices.AllowList
	last, _ := stampOf(path)
	t := time.NewTicker(allowListWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := stampOf(path)
		if err != nil || stamp == last {
			continue
		}
		last = stamp
		n.reloadAllowList("file changed")
	}
}

// reloadAllowList re-reads the allow-list and logs the outcome; it
// reports whether the new list is in use.
func (n *Node) reloadAllowList(why string) bool {
	before := n.allowList.Len()
	if err := n.allowList.Reload(); err != nil {
		n.log.Error("allow-list reload failed; keeping the previous list", "reason", why, "devices", before, "err", err)
		return false
	}
	n.log.Info("allow-list reloaded", "reason", why, "devices_before", before, "devices", n.allowList.Len())
	return true
}

// inode returns fi's inode number (0 when the platform has none).
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
