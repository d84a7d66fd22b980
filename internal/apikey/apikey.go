package apikey

import (
	"crypto/rand"
	"hash/crc32"
	"strings"
)

const (
	base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	legacyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	legacyPrefix   = "alter_key_"
	legacyLen      = 40
	randomLen      = 22
	checksumLen    = 6
)

// Valid reports whether key has one of the two shapes alter-sdk 0.29.0 accepts, the checksum
// of a scoped key included. It says nothing about whether the vault knows the key.
func Valid(key string) bool {
	if rest, ok := strings.CutPrefix(key, legacyPrefix); ok {
		return len(rest) == legacyLen && allIn(rest, legacyAlphabet)
	}
	return Type(key) != ""
}

// Type returns the type of a valid scoped key ("rk" app, "ak" agent, "dk" derived, "pk"
// publishable), or "" for a legacy key, whose prefix tells no type, and for an invalid one.
func Type(key string) string {
	rest, ok := strings.CutPrefix(key, "alter_")
	if !ok || strings.HasPrefix(key, legacyPrefix) {
		return ""
	}
	typ, rest, _ := strings.Cut(rest, "_")
	random, sum, ok := strings.Cut(rest, "_")
	if !ok || !validType(typ) || len(random) != randomLen || len(sum) != checksumLen ||
		!allIn(random, base32Alphabet) || !allIn(sum, base32Alphabet) || Checksum(typ, random) != sum {
		return ""
	}
	return typ
}

// Checksum returns the 6-character checksum of a scoped key: CRC-32 (IEEE) of typ ":" random,
// written five bits at a time, least significant group first, in the base32 alphabet.
func Checksum(typ, random string) string {
	crc := crc32.ChecksumIEEE([]byte(typ + ":" + random))
	var b [checksumLen]byte
	for i := range b {
		b[i] = base32Alphabet[(crc>>(5*i))&0x1F]
	}
	return string(b[:])
}

// NewScoped mints a scoped key of typ from crypto/rand, or returns "" when typ is not one of
// "rk", "ak", "dk", "pk" (such a key could never be valid).
func NewScoped(typ string) string {
	if !validType(typ) {
		return ""
	}
	random := randomString(randomLen, base32Alphabet)
	return "alter_" + typ + "_" + random + "_" + Checksum(typ, random)
}

// NewLegacy mints a legacy key from crypto/rand.
func NewLegacy() string {
	return legacyPrefix + randomString(legacyLen, legacyAlphabet)
}

func validType(typ string) bool {
	switch typ {
	case "rk", "ak", "dk", "pk":
		return true
	}
	return false
}

// randomString draws n characters from alphabet, whose length divides 256 so that masking a
// random byte is unbiased.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func allIn(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}
