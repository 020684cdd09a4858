package node

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sottolabs/sotto/internal/modelpull"
)

// ErrModelHash: the model file is not the one SOTTO_MODEL_SHA256 pins.
var ErrModelHash = errors.New("node: the model file's sha256 is not SOTTO_MODEL_SHA256")

// pinnedModel opens path, checks its sha256 against want (hex), and
// returns the /proc/self/fd path of the open file for llama.cpp to load:
// the very file hashed, whatever path names by then. release closes it
// once llama.cpp holds its own mapping (issue 17, item 9).
func pinnedModel(path, want string) (string, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("node: model: %w", err)
	}
	_, got, err := modelpull.SHA256(f)
	if err != nil {
		f.Close()
		return "", nil, fmt.Errorf("node: model: %w", err)
	}
	if !strings.EqualFold(got, want) {
		f.Close()
		return "", nil, fmt.Errorf("%w: %s has sha256 %s; verify the file, or set the new hash if the change is intended", ErrModelHash, path, got)
	}
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd()), func() { f.Close() }, nil
}
