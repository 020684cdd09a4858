package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/secretfile"
)

// maxPlayKeysFile bounds the Play Integrity keys file.
const maxPlayKeysFile = 4 << 10

// ErrPlayKeys: the keys file is not two lines "decryption_key: <base64
// AES-256 key>" and "verification_key: <base64 DER P-256 public key>".
var ErrPlayKeys = errors.New("attest: Play Integrity keys file malformed")

// LoadPlayKeys reads the operator's Play Integrity response keys, as the
// Play Console shows them, from a secret file (mode 0600). The
// decryption key stays in the first 32 bytes of a locked buffer the
// caller owns.
func LoadPlayKeys(path string, budget *locked.Budget) (*locked.Buffer, *ecdsa.PublicKey, error) {
	file, n, err := secretfile.Read(path, maxPlayKeysFile, budget)
	if err != nil {
		return nil, nil, fmt.Errorf("attest: %w", err)
	}
	defer file.Destroy()
	dec, err := budget.Alloc(48) // room for base64's padding
	if err != nil {
		return nil, nil, fmt.Errorf("attest: %w", err)
	}
	var pub *ecdsa.PublicKey
	var gotDec bool
	for line := range bytes.SplitSeq(file.Bytes()[:n], []byte("\n")) {
		name, val, _ := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		val = bytes.TrimSpace(val)
		switch string(name) {
		case "decryption_key":
			gotDec = false
			if base64.StdEncoding.DecodedLen(len(val)) <= 48 {
				m, err := base64.StdEncoding.Decode(dec.Bytes(), val)
				gotDec = err == nil && m == 32
			}
		case "verification_key":
			pub = parseVerificationKey(val)
		}
	}
	if !gotDec || pub == nil {
		dec.Destroy()
		return nil, nil, fmt.Errorf("%w: %s", ErrPlayKeys, path)
	}
	return dec, pub, nil
}

func parseVerificationKey(b64 []byte) *ecdsa.PublicKey {
	der, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil
	}
	pub, _ := k.(*ecdsa.PublicKey)
	return pub
}
