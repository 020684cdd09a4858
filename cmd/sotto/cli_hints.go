package main

import (
	"errors"
	"io/fs"
	"net/url"

	"github.com/sottolabs/sotto/crypto/keys"
)

// The CLI's own errors (not the server's problems, chat_errors.go) in the
// same shape: the error, then what happened and what to do.

// keyDirError explains a key directory that cannot be opened: missing
// (with the make run directory as the likely one meant), empty, or open
// to others.
func keyDirError(dir string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hint{"there is no key directory at " + dir,
			"pass the server's (SOTTO_KEY_DIR): --dir " + devKeyDir + " for make run's, or create one with sotto keys init --dir " + dir}.wrap(err)
	case errors.Is(err, keys.ErrNoKeys):
		return hint{dir + " holds no keys (no signing key)",
			"create them with sotto keys init --dir " + dir + ", or pass the server's key directory with --dir"}.wrap(err)
	case errors.Is(err, fs.ErrPermission):
		return hint{dir + " cannot be read by this user",
			"run as the service user (sudo -u sotto sotto ...) or as root"}.wrap(err)
	}
	return err
}

// deviceKeyError explains a device key file that cannot be read.
func deviceKeyError(path string, err error) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return hint{"there is no device key at " + path,
		"create one with sotto device init --out " + path + " and enrol its public key on the server " +
			"(sotto device allow KEY); with --dev, sotto serve and make run create " + devDeviceKey}.wrap(err)
}

// deviceExistsError explains sotto device init onto an existing key: it
// never overwrites one (the device would lose its enrolment).
func deviceExistsError(path string, err error) error {
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	return hint{"a device key already exists at " + path + " (init never overwrites one: its enrolment would be lost)",
		"use it (sotto device show --key " + path + " prints its public key), or choose another --out"}.wrap(err)
}

// checkServerURL refuses a --server that is not an http(s) URL before
// the SDK does, in the flag's terms.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	return hint{"--server needs a URL with its scheme, http:// or https://",
		"e.g. --server http://127.0.0.1:8080 (make run: plain HTTP on loopback) or --server https://sotto.example"}.
		wrap(errors.New("chat: --server is not an http(s) URL"))
}

// keyArgError explains a PUBLIC-KEY argument that does not parse; the
// argument itself is not repeated.
func keyArgError(err error) error {
	return hint{"the argument is not a device public key (ed25519:<43 base64url characters> or p256:<44>)",
		"copy the whole line sotto device init or sotto device show prints on the device"}.wrap(err)
}
