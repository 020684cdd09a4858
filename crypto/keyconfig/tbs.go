package keyconfig

import (
	"encoding/binary"
	"fmt"
	"time"
)

// tbsLabel starts the signed bytes; a 0x00 byte follows it.
const tbsLabel = "sotto/v1 key config"

// TBS returns the bytes the signature covers (docs/protocol.md section 2):
//
//	"sotto/v1 key config" || 0x00 || issued_at(8) || expires(8) || I2OSP(n, 2)
//	|| per key: key_id(1) || kem_id(2) || kdf_id(2) || aead_id(2) || state(1)
//	            || not_before(8) || not_after(8) || I2OSP(len(pk), 2) || pk
//
// with times as big-endian int64 Unix seconds.
func (d *Document) TBS() ([]byte, error) {
	if len(d.Keys) > 0xFFFF {
		return nil, fmt.Errorf("%w: too many keys", ErrMalformed)
	}
	b := make([]byte, 0, 64+len(d.Keys)*64)
	b = append(b, tbsLabel...)
	b = append(b, 0)
	b = appendTime(b, d.IssuedAt)
	b = appendTime(b, d.Expires)
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.Keys)))
	for _, k := range d.Keys {
		if k.State != StateCurrent && k.State != StateNext {
			return nil, fmt.Errorf("%w: unknown key state", ErrMalformed)
		}
		if len(k.PublicKey) > 0xFFFF {
			return nil, fmt.Errorf("%w: public key too long", ErrMalformed)
		}
		b = append(b, k.KeyID)
		b = binary.BigEndian.AppendUint16(b, uint16(k.Suite.KEM))
		b = binary.BigEndian.AppendUint16(b, uint16(k.Suite.KDF))
		b = binary.BigEndian.AppendUint16(b, uint16(k.Suite.AEAD))
		b = append(b, byte(k.State))
		b = appendTime(b, k.NotBefore)
		b = appendTime(b, k.NotAfter)
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.PublicKey)))
		b = append(b, k.PublicKey...)
	}
	return b, nil
}

func appendTime(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
}
