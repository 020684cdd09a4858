package attest

import (
	"encoding/binary"
	"fmt"
)

// authData is WebAuthn authenticator data as App Attest uses it: the RP
// ID hash (SHA-256 of the App ID), flags, the signature counter and, in
// an attestation, the attested credential (AAGUID, credential id, COSE
// key).
type authData struct {
	rpIDHash     [32]byte
	flags        byte
	counter      uint32
	aaguid       [16]byte
	credentialID []byte
	hasCred      bool
}

// The App Attest AAGUIDs: the environment the key was attested in.
var (
	aaguidProduction  = [16]byte{'a', 'p', 'p', 'a', 't', 't', 'e', 's', 't'}
	aaguidDevelopment = [16]byte{'a', 'p', 'p', 'a', 't', 't', 'e', 's', 't', 'd', 'e', 'v', 'e', 'l', 'o', 'p'}
)

// flagAttested marks authenticator data carrying a credential (AT).
const flagAttested = 0x40

// parseAuthData reads the fixed fields and, for an attestation (withCred)
// whose AT flag is set, the credential's AAGUID and id (the COSE key that
// follows is not needed: the key is taken from the certificate and
// checked against the id). Assertions are read without credential data:
// devices set the AT flag there too, with nothing after the counter.
func parseAuthData(b []byte, withCred bool) (authData, error) {
	var a authData
	if len(b) < 37 {
		return a, fmt.Errorf("%w: authenticator data too short", ErrFormat)
	}
	copy(a.rpIDHash[:], b[:32])
	a.flags = b[32]
	a.counter = binary.BigEndian.Uint32(b[33:37])
	if !withCred || a.flags&flagAttested == 0 {
		return a, nil
	}
	rest := b[37:]
	if len(rest) < 18 {
		return a, fmt.Errorf("%w: attested credential data too short", ErrFormat)
	}
	copy(a.aaguid[:], rest[:16])
	n := int(binary.BigEndian.Uint16(rest[16:18]))
	if len(rest) < 18+n {
		return a, fmt.Errorf("%w: credential id truncated", ErrFormat)
	}
	a.credentialID = rest[18 : 18+n]
	a.hasCred = true
	return a, nil
}

// environment maps the AAGUID to Production or Development.
func (a authData) environment() (string, error) {
	switch a.aaguid {
	case aaguidProduction:
		return Production, nil
	case aaguidDevelopment:
		return Development, nil
	}
	return "", fmt.Errorf("%w: unknown AAGUID", ErrFormat)
}
