package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/sottolabs/sotto/crypto/device"
)

// TestConversationKeyIsHMAC: the hand-built HMAC (pads in locked scratch)
// equals crypto/hmac's, binds the device key and the secret, and leaves
// no pad bytes behind.
func TestConversationKeyIsHMAC(t *testing.T) {
	secret := []byte("0123456789abcdef")
	keyOf := func(seed byte) device.Key {
		k, err := device.PublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	dk := keyOf(1)
	scratch := make([]byte, conversationScratch)
	got := *conversationKey(scratch, secret, dk)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("sotto/v1 conversation cache\x00ed25519\x00"))
	m.Write(dk.Bytes())
	if want := m.Sum(nil); !bytes.Equal(got[:], want) {
		t.Fatalf("key %x, want HMAC %x", got, want)
	}
	if !bytes.Equal(scratch[:sha256.BlockSize], make([]byte, sha256.BlockSize)) {
		t.Fatal("the HMAC pad was not wiped")
	}
	if other := *conversationKey(scratch, secret, keyOf(2)); other == got {
		t.Fatal("another device derives the same key")
	}
	if other := *conversationKey(scratch, []byte("0123456789abcdeg"), dk); other == got {
		t.Fatal("another secret derives the same key")
	}
}
