package client

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/sottolabs/sotto/crypto/device"
)

// Signer is a device key: it names the device (the Sotto-Device header)
// and signs request bodies (the Sotto-Signature header, protocol
// section 3). Implementations backed by a hardware keystore (Secure
// Enclave, Android Keystore) fit here: a P-256 signer may return the
// signature as raw r||s or ASN.1 DER. A Signer must be safe for concurrent
// use when the Client is used concurrently.
type Signer interface {
	// Device returns the device's public key.
	Device() device.Key
	// SignBody returns the Sotto-Signature value of body.
	SignBody(body []byte) (string, error)
}

// ed25519Signer signs with an Ed25519 key held by the caller.
type ed25519Signer struct {
	priv ed25519.PrivateKey
	pub  device.Key
}

// Ed25519Signer returns a Signer for priv, which may live in locked memory
// (device.ReadKeyFile); the caller keeps it alive while the Signer is used.
func Ed25519Signer(priv ed25519.PrivateKey) (Signer, error) {
	pub, err := device.PublicKey(priv)
	if err != nil {
		return nil, fmt.Errorf("client: device key: %w", err)
	}
	return &ed25519Signer{priv: priv, pub: pub}, nil
}

func (s *ed25519Signer) Device() device.Key { return s.pub }

func (s *ed25519Signer) SignBody(body []byte) (string, error) {
	return device.Sign(s.priv, body)
}

// p256Signer signs with a software P-256 key.
type p256Signer struct {
	priv *ecdsa.PrivateKey
	pub  device.Key
}

// P256Signer returns a Signer for a software P-256 key (tests, and
// platforms without a keystore); signatures are raw r||s.
func P256Signer(priv *ecdsa.PrivateKey) (Signer, error) {
	pub, err := device.P256PublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("client: device key: %w", err)
	}
	return &p256Signer{priv: priv, pub: pub}, nil
}

func (s *p256Signer) Device() device.Key { return s.pub }

func (s *p256Signer) SignBody(body []byte) (string, error) {
	return device.SignP256(rand.Reader, s.priv, body)
}
