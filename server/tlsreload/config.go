package tlsreload

import "crypto/tls"

// tls12Suites are the TLS 1.2 suites offered: forward-secret ECDHE with
// AEADs only. TLS 1.3 suites are not configurable and all acceptable.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSConfig returns a server configuration using r's certificate: TLS 1.2
// at least (TLS 1.3 is negotiated whenever the client offers it), ECDHE
// AEAD suites for 1.2, and ALPN offering HTTP/2 before HTTP/1.1. The
// result is a fresh value the caller may adjust before use.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tls12Suites,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.GetCertificate,
	}
}
