package sandbox

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Egress filtering. slirp4netns turns the sandbox's connections into
// sockets of the host's network namespace, so without a filter a networked
// sandbox reaches whatever the host reaches: every address of the host
// itself other than 127.0.0.1 (the CodeRunner server listens on all
// interfaces by default, and so may a database), its LAN and the cloud's
// metadata service at 169.254.169.254. --disable-host-loopback only covers
// the host's loopback. So before the sandbox's command runs, the driver
// installs nftables rules in the sandbox's own network namespace that let
// it reach the public internet and slirp's DNS, and reject the rest:
//
//	table inet coderunner {
//	  set blocked4 { type ipv4_addr; flags constant, interval; elements = { builtinBlocked, host addresses } }
//	  set blocked6 { type ipv6_addr; flags constant, interval; elements = { ... } }
//	  set allowed4, allowed6 { ... LocalOptions.EgressAllow, when it has any }
//	  chain egress {
//	    type filter hook output priority filter; policy accept;
//	    oifname "lo" accept                                  # the sandbox's own loopback (and its own addresses)
//	    ip daddr 10.0.2.3 tcp dport 53 accept                # slirp's DNS
//	    ip daddr 10.0.2.3 udp dport 53 accept
//	    meta l4proto ipv6-icmp icmpv6 type 133-136 accept    # neighbour discovery, should slirp ever do IPv6
//	    ip daddr @allowed4 accept
//	    ip6 daddr @allowed6 accept
//	    ip daddr @blocked4 goto blocked
//	    ip6 daddr @blocked6 goto blocked
//	  }
//	  chain blocked {
//	    meta l4proto tcp reject with tcp reset               # connect(2) fails at once: ECONNREFUSED
//	    reject with icmpx admin-prohibited                   # UDP and others: send(2) fails, EPERM
//	  }
//	}
//
// The rules sit in the sandbox's namespace, not the host's: they see the
// app's packets on their way to tap0 with their real destinations (slirp's
// own host sockets are out of their reach, and of the app's), so one
// sandbox's rules affect nothing else on the machine, and disappear with
// the namespace. The app cannot change them: bwrap leaves it no
// capabilities (nfnetlink needs CAP_NET_ADMIN even to read them).
//
// The host's addresses are read (net.InterfaceAddrs, in the host's
// namespace) at each Start, so an address acquired later (DHCP, a new
// interface) is covered for sandboxes started from then on, though not for
// those already running. Addresses that route to the host without being
// on one of its interfaces (a cloud's public or floating IP NATed to it)
// are not known here.

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
