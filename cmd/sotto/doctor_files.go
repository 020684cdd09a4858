package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sottolabs/sotto/internal/modelpull"
)

// fileOwner returns the owner's uid of fi.
func fileOwner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// checkKeyDir: the key directory and every file in it must be the
// service user's, closed to group and others, and no symbolic link. In
// development a missing directory is created by the server.
func (h host) checkKeyDir(dir string, createdOnStart bool) finding {
	const name = "key directory"
	uid, user := h.owner()
	fi, err := os.Lstat(dir)
	switch {
	case os.IsNotExist(err) && createdOnStart:
		return ok(name, dir+" does not exist yet; sotto serve creates it in development")
	case err != nil:
		return fail(name, dir+" cannot be read", "create it with sotto keys init --dir "+dir+" as the service user")
	case !fi.IsDir():
		return fail(name, dir+" is not a plain directory", "use a real directory, not a link")
	}
	if bad := secretProblem(dir, fi, uid, user); bad != "" {
		return fail(name, bad, fmt.Sprintf("chown -R %s %s && chmod 700 %s && chmod 600 %s/*", user, dir, dir, dir))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fail(name, dir+" cannot be listed", "run the doctor as the service user or root")
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		efi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if bad := secretProblem(p, efi, uid, user); bad != "" {
			return fail(name, bad, fmt.Sprintf("chown %s %s && chmod 600 %s", user, p, p))
		}
	}
	return ok(name, fmt.Sprintf("%s: %d file(s), 0700/0600, owned by %s", dir, len(entries), user))
}

// secretProblem describes what is wrong with a secret file or directory,
// or returns "".
func secretProblem(path string, fi fs.FileInfo, uid int, user string) string {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return path + " is a symbolic link"
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Sprintf("%s is open to group or others (mode %04o)", path, fi.Mode().Perm())
	case fileOwner(fi) != uid:
		return fmt.Sprintf("%s is owned by uid %d, not %s", path, fileOwner(fi), user)
	}
	return ""
}

// checkAllowList: whoever can write the allow-list decides which devices
// the server serves.
func (h host) checkAllowList(path string, createdOnStart bool) finding {
	const name = "allow-list"
	fi, err := os.Lstat(path)
	switch {
	case os.IsNotExist(err) && createdOnStart:
		return ok(name, path+" does not exist yet; sotto serve creates it in development, with a development device")
	case err != nil:
		return fail(name, path+" cannot be read", "enrol a device: sotto device allow KEY --allow-list "+path)
	case !fi.Mode().IsRegular():
		return fail(name, path+" is not a regular file", "use a plain file, not a link")
	case fi.Mode().Perm()&0o022 != 0:
		return fail(name, fmt.Sprintf("%s is writable by group or others (mode %04o): they could enrol devices", path, fi.Mode().Perm()),
			"chmod go-w "+path)
	}
	if uid, user := h.owner(); fileOwner(fi) != 0 && fileOwner(fi) != uid {
		return fail(name, fmt.Sprintf("%s is owned by uid %d, neither root nor %s", path, fileOwner(fi), user), "chown root "+path)
	}
	return ok(name, fmt.Sprintf("%s: mode %04o", path, fi.Mode().Perm()))
}

// ggufMagic starts every GGUF file.
var ggufMagic = []byte("GGUF")

// checkModel: the model must be a readable GGUF file, with the sha256
// SOTTO_MODEL_SHA256 pins when set. In development no model means the
// embedded demo model, which is always valid.
func (h host) checkModel(path string, dev bool, sha string) finding {
	const name = "model"
	switch {
	case path == "" && dev:
		return ok(name, "the embedded demo model stories260K (development; sotto model pull --dir models for a real one)")
	case path == "":
		return fail(name, "SOTTO_MODEL is not set", "set SOTTO_MODEL to the GGUF file")
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(name, path+" cannot be opened", "check the path and that the service user can read it (chmod a+r, or group sotto)")
	}
	defer f.Close()
	head := make([]byte, len(ggufMagic))
	fi, statErr := f.Stat()
	if _, err := io.ReadFull(f, head); err != nil || statErr != nil || !bytes.Equal(head, ggufMagic) {
		return fail(name, path+" is not a GGUF file", "download a GGUF model (docs/models.md)")
	}
	if sha != "" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fail(name, path+" cannot be read", "check the file")
		}
		if _, got, err := modelpull.SHA256(f); err != nil || !strings.EqualFold(got, sha) {
			return fail(name, path+" does not have the sha256 SOTTO_MODEL_SHA256 pins (sha256 "+got+"); serve refuses it",
				"restore the pinned file (sotto model pull), or set SOTTO_MODEL_SHA256 to the new file's hash if the change is intended")
		}
		return ok(name, fmt.Sprintf("%s: GGUF, %s, sha256 as pinned", path, mib(fi.Size())))
	}
	return ok(name, fmt.Sprintf("%s: GGUF, %s", path, mib(fi.Size())))
}
