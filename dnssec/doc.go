// Package dnssec holds the DNSSEC machinery sitedns signs its zones with:
// BIND key files (a .key and a .private per key) read and checked, RRsets
// signed, DS, CDS and CDNSKEY records made from keys, NSEC3 owner hashes
// (RFC 5155 with RFC 9276's advice: SHA-1, no extra iterations, no salt)
// and the canonical name order of NSEC chains (RFC 4034 §6.1).
//
// It knows nothing of zones or scopes: package zones walks each scope's view
// of a zone when a snapshot compiles and asks it for signatures, so nothing
// is signed on the query path. The hashing and ordering helpers that the
// query path does use (Hash, CanonicalKey) allocate nothing.
//
// Usage:
//
//	k, err := dnssec.LoadKey("keys/Kcontoso.lab.+013+12345") // .key and .private
//	s := dnssec.NewSigner([]*dnssec.Key{k}, time.Now(), 14*24*time.Hour)
//	sigs, err := s.Sign(rrset) // one RRSIG per signing key
package dnssec
