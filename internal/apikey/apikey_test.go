package apikey

import (
	"hash/crc32"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The checksum vectors of transport.md §2.2.
func TestChecksumVectors(t *testing.T) {
	for _, tc := range []struct {
		typ, random string
		crc         uint32
		sum, key    string
	}{
		{"rk", "abcdefghijklmnopqrstuv", 0x1aac3ec8, "iwpykn", "alter_rk_abcdefghijklmnopqrstuv_iwpykn"},
		{"ak", "234567abcdefghijklmnop", 0xf00fb047, "hcm7ay", "alter_ak_234567abcdefghijklmnop_hcm7ay"},
		{"dk", "aaaaaaaaaaaaaaaaaaaaaa", 0x25603423, "dbnaws", "alter_dk_aaaaaaaaaaaaaaaaaaaaaa_dbnaws"},
		{"pk", "zzzzzzzzzzzzzzzzzzzzzz", 0x731982fb, "3xatrz", "alter_pk_zzzzzzzzzzzzzzzzzzzzzz_3xatrz"},
	} {
		assert.Equal(t, tc.crc, crc32.ChecksumIEEE([]byte(tc.typ+":"+tc.random)), "CRC of %s:%s", tc.typ, tc.random)
		assert.Equal(t, tc.sum, Checksum(tc.typ, tc.random))
		assert.True(t, Valid(tc.key), tc.key)
		assert.Equal(t, tc.typ, Type(tc.key))
	}
}

func TestRejections(t *testing.T) {
	legacy40 := "alter_key_" + strings.Repeat("aZ0-_", 8)
	assert.True(t, Valid(legacy40))
	assert.Empty(t, Type(legacy40), "a legacy key tells no type")
	for _, k := range []string{
		"alter_key_" + strings.Repeat("a", 39),       // 39-char legacy body
		"alter_key_" + strings.Repeat("a", 41),       //
		"alter_key_" + strings.Repeat("a", 39) + "=", // outside the alphabet
		"alter_rk_abcdefghijklmnopqrstuv_iwpykm",     // flipped checksum char
		"alter_rk_abcdefghijklmnopqrstuw_iwpykn",     // flipped random char
		"alter_RK_abcdefghijklmnopqrstuv_iwpykn",     // upper-case type
		"alter_rk_ABCDEFGHIJKLMNOPQRSTUV_iwpykn",     // upper-case random
		"alter_rk_abcdefghijklmnopqrstuv_IWPYKN",     // upper-case checksum
		"alter_xk_abcdefghijklmnopqrstuv_iwpykn",     // unknown type
		"alter_rk_abcdefghijklmnopqrstu_iwpykn",      // 21-char random
		"alter_rk_abcdefghijklmnopqrstuv_iwpykn_",    // fifth segment
		"alter_rk_abcdefghijklmnopqrstuv",            // no checksum
		"Alter_rk_abcdefghijklmnopqrstuv_iwpykn",     // prefix case
		" alter_rk_abcdefghijklmnopqrstuv_iwpykn",    // whitespace
		"", "alter_", "alter_key_",
	} {
		assert.False(t, Valid(k), k)
		assert.Empty(t, Type(k), k)
	}
}

var (
	scopedGrammar = regexp.MustCompile(`^alter_(rk|ak|dk|pk)_([a-z2-7]{22})_([a-z2-7]{6})$`)
	legacyGrammar = regexp.MustCompile(`^alter_key_[A-Za-z0-9_-]{40}$`)
)

func TestGeneratedKeysAreValid(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		for _, typ := range []string{"rk", "ak", "dk", "pk"} {
			k := NewScoped(typ)
			assert.True(t, Valid(k), k)
			assert.Equal(t, typ, Type(k))
			assert.Regexp(t, scopedGrammar, k)
			assert.False(t, seen[k])
			seen[k] = true
		}
		l := NewLegacy()
		assert.True(t, Valid(l), l)
		assert.Empty(t, Type(l))
		assert.Regexp(t, legacyGrammar, l)
	}
	assert.Empty(t, NewScoped("xk"))
	assert.Empty(t, NewScoped("RK"))
}

func FuzzValid(f *testing.F) {
	f.Add("alter_rk_abcdefghijklmnopqrstuv_iwpykn")
	f.Add("alter_key_" + strings.Repeat("a", 40))
	f.Add("alter_ak_234567abcdefghijklmnop_hcm7ay")
	f.Add("alter_rk__")
	f.Fuzz(func(t *testing.T, k string) {
		valid, typ := Valid(k), Type(k)
		if typ != "" && !valid {
			t.Fatalf("Type(%q) = %q but not Valid", k, typ)
		}
		if !valid {
			return
		}
		if m := scopedGrammar.FindStringSubmatch(k); m != nil {
			if typ != m[1] || Checksum(m[1], m[2]) != m[3] {
				t.Fatalf("Valid(%q) with type %q and a wrong checksum", k, typ)
			}
			return
		}
		if !legacyGrammar.MatchString(k) || typ != "" {
			t.Fatalf("Valid(%q) outside both grammars (type %q)", k, typ)
		}
	})
}
