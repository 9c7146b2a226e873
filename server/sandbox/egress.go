package sandbox

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// builtinBlocked are the destinations no sandbox reaches: the private,
// shared (CGNAT), link-local (cloud metadata), loopback, multicast and
// reserved ranges. slirp's own network, 10.0.2.0/24 (10.0.2.2 is the host),
// is part of 10.0.0.0/8; only DNS to 10.0.2.3 is let through.
var builtinBlocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"), // only ever leaves through lo, which is allowed; not through tap0
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"), // reserved, and the limited broadcast
	netip.MustParsePrefix("::/127"),      // unspecified and loopback
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// slirpDNSAddr is slirpDNS, parsed.
var slirpDNSAddr = netip.MustParseAddr(slirpDNS)

// egressPolicy is what installEgressFilter installs: disjoint, sorted
// ranges per family.
type egressPolicy struct {
	blocked4, blocked6 []ipRange
	allowed4, allowed6 []ipRange
}

// egressPolicyFor makes the policy that blocks builtinBlocked and
// hostAddrs, except what allow allows.
func egressPolicyFor(hostAddrs []netip.Addr, allow []netip.Prefix) egressPolicy {
	blocked := slices.Clone(builtinBlocked)
	for _, a := range hostAddrs {
		blocked = append(blocked, netip.PrefixFrom(a, a.BitLen()))
	}
	var p egressPolicy
	p.blocked4, p.blocked6 = splitRanges(blocked)
	p.allowed4, p.allowed6 = splitRanges(allow)
	return p
}

// hostAddrs are the addresses of the host's interfaces (the server's
// network namespace), but for loopback ones: those the sandbox has its own
// of.
func hostAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing the host's addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if !ip.IsLoopback() {
			out = append(out, ip)
		}
	}
	return out, nil
}

// ipRange is an inclusive range of addresses of one family.
type ipRange struct{ from, to netip.Addr }

func (r ipRange) String() string { return r.from.String() + "-" + r.to.String() }

func prefixRange(p netip.Prefix) ipRange {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	last, _ := netip.AddrFromSlice(b)
	return ipRange{p.Addr(), last}
}

// splitRanges turns prefixes into merged ranges, IPv4 and IPv6 apart.
func splitRanges(ps []netip.Prefix) (v4, v6 []ipRange) {
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4() {
			v4 = append(v4, prefixRange(p))
		} else {
			v6 = append(v6, prefixRange(p))
		}
	}
	return mergeRanges(v4), mergeRanges(v6)
}

// mergeRanges sorts ranges of one family and merges those that overlap or
// touch: an nftables interval set takes only disjoint intervals.
func mergeRanges(rs []ipRange) []ipRange {
	slices.SortFunc(rs, func(a, b ipRange) int { return a.from.Compare(b.from) })
	var out []ipRange
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			next := last.to.Next() // invalid if last.to is the family's last address
			if !next.IsValid() || r.from.Compare(next) <= 0 {
				if r.to.Compare(last.to) > 0 {
					last.to = r.to
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
