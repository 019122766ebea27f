package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/zones"
)

// tsigQuery is what the TSIG of a query (RFC 8945) asks of its answer. A
// query signed with a [[tsig]] key of the snapshot that verifies is
// answered as usual, signed with that key (§5.3); one signed with a key
// that is not ours gets NOTAUTH and an unsigned TSIG saying BADKEY, one
// whose MAC is wrong the same with BADSIG (§5.2.1, §5.2.2); one signed
// outside its fudge NOTAUTH with BADTIME, signed (§5.2.3). A query
// without TSIG has signed false, and its answer goes out as written.
type tsigQuery struct {
	signed bool
	key    *zones.TSIGKey // the key that signs the answer; nil for BADKEY, BADSIG
	mac    string         // the query's MAC, which the answer's covers
	err    uint16         // the TSIG error of the answer
	name   string         // the key name and algorithm as the query gave them
	alg    string
	fudge  uint16
}

// room is the most bytes the TSIG of the answer takes, which a UDP answer
// must leave free: its owner and algorithm names, the fixed fields, the
// longest MAC (HMAC-SHA512) and the server time of BADTIME.
func (q *tsigQuery) room() int {
	if !q.signed {
		return 0
	}
	return len(q.name) + 2 + 10 + len(q.alg) + 2 + 16 + 64 + 6
}

// checkTSIG reads the TSIG of sc.req, unpacked from req, into sc.tsig and
// returns the rcode the answer must have instead of the query's own
// answer: NOTAUTH for a TSIG that does not verify, FORMERR for one that is
// not the last record of the message or not the only one (RFC 8945 §5.1)
// or whose RDATA is empty, so that it names no algorithm (§5.2: a TSIG that
// cannot be understood); 0 when the query may be answered.
func checkTSIG(sc *scratch, snap *zones.Snapshot, req []byte) int {
	if misplacedTSIG(&sc.req) {
		return dns.RcodeFormatError
	}
	sig := sc.req.IsTsig()
	if sig == nil {
		return 0
	}
	if sig.Algorithm == "" {
		return dns.RcodeFormatError
	}
	sc.tsig = tsigQuery{signed: true, name: sig.Hdr.Name, alg: sig.Algorithm, fudge: sig.Fudge}
	key := snap.TSIGKey(sig.Hdr.Name)
	if key == nil || !strings.EqualFold(dns.Fqdn(key.Algorithm), dns.Fqdn(sig.Algorithm)) {
		sc.tsig.err = dns.RcodeBadKey
		return dns.RcodeNotAuth
	}
	switch err := verifyTSIG(req, key.Secret); {
	case err == nil:
	case errors.Is(err, dns.ErrTime):
		sc.tsig.err = dns.RcodeBadTime // the MAC verified: the answer is signed
	default:
		sc.tsig.err = dns.RcodeBadSig
		return dns.RcodeNotAuth
	}
	sc.tsig.key, sc.tsig.mac = key, sig.MAC
	if sc.tsig.err != 0 {
		return dns.RcodeNotAuth
	}
	return 0
}

// verifyTSIG checks the TSIG of the query req (RFC 8945 §5.2) with secret.
// It verifies a copy: dns.TsigVerify lowers the ARCOUNT of the message it
// is given, and req is the caller's, which the tap and the caller read
// afterwards.
func verifyTSIG(req []byte, secret string) error {
	return dns.TsigVerify(slices.Clone(req), secret, "", false)
}

// misplacedTSIG reports whether m holds a TSIG anywhere but as the last
// record of its additional section, or more than one.
func misplacedTSIG(m *dns.Msg) bool {
	isTSIG := func(rr dns.RR) bool { _, ok := rr.(*dns.TSIG); return ok }
	if slices.ContainsFunc(m.Answer, isTSIG) || slices.ContainsFunc(m.Ns, isTSIG) {
		return true
	}
	return len(m.Extra) > 1 && slices.ContainsFunc(m.Extra[:len(m.Extra)-1], isTSIG)
}

// signTSIG returns out, the packed answer to a signed query, with the TSIG
// sc.tsig asks for, in dst (which out may share). An answer that cannot be signed is not sent: an unsigned
// answer to a signed query is one the client must drop.
func signTSIG(sc *scratch, dst, out []byte) []byte {
	if len(out) == 0 {
		return out
	}
	signed, _, err := tsigSign(out, &sc.tsig, sc.tsig.mac, false)
	if err != nil {
		return nil
	}
	return append(dst[:0], signed...)
}

// tsigSign signs the packed message out as q asks, covering prev (the
// query's MAC, or for a later message of a transfer the MAC of the one
// before it, with timersOnly: RFC 8945 §5.3.1). It returns the signed
// message and its MAC.
func tsigSign(out []byte, q *tsigQuery, prev string, timersOnly bool) ([]byte, string, error) {
	var m dns.Msg
	if err := m.Unpack(out); err != nil {
		return nil, "", err
	}
	now := time.Now().Unix()
	m.SetTsig(q.name, q.alg, q.fudge, now)
	t := m.Extra[len(m.Extra)-1].(*dns.TSIG)
	t.Error = q.err
	if q.err == dns.RcodeBadTime {
		t.OtherLen, t.OtherData = 6, fmt.Sprintf("%012x", now) // the server's time (§5.2.3)
	}
	secret := ""
	if q.key != nil {
		secret = q.key.Secret
	}
	return dns.TsigGenerate(&m, secret, prev, timersOnly)
}

// transferTSIG reports whether a transfer of z may go ahead as far as TSIG
// goes: a zone with a transfer_tsig key takes only transfers signed with
// that key (sc.tsig says they verified).
func transferTSIG(sc *scratch, z *zones.Zone) bool {
	k := z.TransferTSIG
	return k == nil || (sc.tsig.key != nil && strings.EqualFold(sc.tsig.key.Name, k.Name))
}
