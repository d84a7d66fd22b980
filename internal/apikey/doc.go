// Package apikey knows the shapes of Alter API keys (transport.md §2.2): the legacy
// alter_key_<40 URL-safe chars> and the scoped alter_<type>_<22 base32>_<6 checksum>, whose
// checksum is a CRC-32 of type and random part. alter-sdk 0.29.0 refuses a key of any other
// shape before sending anything, so vaulttest mints keys here and the facade can check them
// offline.
package apikey
