package attest

import (
	"crypto/x509"
	"encoding/pem"
	"sync"
)

// AppleRootSHA256 is the SHA-256 of the DER of Apple's App Attestation
// Root CA (https://www.apple.com/certificateauthority/Apple_App_Attestation_Root_CA.pem),
// valid 2020-03-18 to 2045-03-15. A test recomputes it from appleRootPEM.
const AppleRootSHA256 = "1cb9823ba28ba6ad2d33a006941de2ae4f513ef1d4e831b9f7e0fa7b6242c932"

// appleRootPEM is Apple's App Attestation Root CA, compiled in so that no
// network call or file decides what an attestation chains to.
const appleRootPEM = `-----BEGIN CERTIFICATE-----
MIICITCCAaegAwIBAgIQC/O+DvHN0uD7jG5yH2IXmDAKBggqhkjOPQQDAzBSMSYw
JAYDVQQDDB1BcHBsZSBBcHAgQXR0ZXN0YXRpb24gUm9vdCBDQTETMBEGA1UECgwK
QXBwbGUgSW5jLjETMBEGA1UECAwKQ2FsaWZvcm5pYTAeFw0yMDAzMTgxODMyNTNa
Fw00NTAzMTUwMDAwMDBaMFIxJjAkBgNVBAMMHUFwcGxlIEFwcCBBdHRlc3RhdGlv
biBSb290IENBMRMwEQYDVQQKDApBcHBsZSBJbmMuMRMwEQYDVQQIDApDYWxpZm9y
bmlhMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAERTHhmLW07ATaFQIEVwTtT4dyctdh
NbJhFs/Ii2FdCgAHGbpphY3+d8qjuDngIN3WVhQUBHAoMeQ/cLiP1sOUtgjqK9au
Yen1mMEvRq9Sk3Jm5X8U62H+xTD3FE9TgS41o0IwQDAPBgNVHRMBAf8EBTADAQH/
MB0GA1UdDgQWBBSskRBTM72+aEH/pwyp5frq5eWKoTAOBgNVHQ8BAf8EBAMCAQYw
CgYIKoZIzj0EAwMDaAAwZQIwQgFGnByvsiVbpTKwSga0kP0e8EeDS4+sQmTvb7vn
53O5+FRXgeLhpJ06ysC5PrOyAjEAp5U4xDgEgllF7En3VcE3iexZZtKeYnpqtijV
oyFraWVIyd/dganmrduC1bmTBGwD
-----END CERTIFICATE-----
`

var appleRoots = sync.OnceValue(func() *x509.CertPool {
	block, _ := pem.Decode([]byte(appleRootPEM))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		panic("attest: compiled-in App Attest root does not parse: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
})

// AppleRoots returns a pool holding only Apple's App Attestation Root CA,
// the pinned anchor of AppAttest.Roots in production.
func AppleRoots() *x509.CertPool { return appleRoots() }

// AppleRootDER returns the DER of the compiled-in root.
func AppleRootDER() []byte {
	block, _ := pem.Decode([]byte(appleRootPEM))
	return block.Bytes
}
