package sandbox

import (
	"fmt"
	"os"
	"runtime"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// setElements encodes ranges as interval set elements: each range's first
// address, and the address after its last flagged as an interval end (none
// for a range that runs to the family's last address, as nft does).
func setElements(rs []ipRange) []nftables.SetElement {
	var els []nftables.SetElement
	for _, r := range rs {
		els = append(els, nftables.SetElement{Key: r.from.AsSlice()})
		if end := r.to.Next(); end.IsValid() {
			els = append(els, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return els
}

// egressTable is the name of the sandbox's nftables table.
const egressTable = "coderunner"

// installEgressFilter installs p in the network namespace netns (the rules
// are described in egress.go).
//
// The netlink socket that programs them is created inside the namespace:
// nftables.WithNetNSFd makes the library (mdlayher/socket) lock a thread,
// setns(2) it into the sandbox's namespace, create the socket and switch
// back, as socketIn does for DialContext. A socket belongs to the namespace
// it was created in, so the whole batch, sent and acknowledged on ordinary
// threads afterwards, applies there. The batch is one nf_tables
// transaction: the kernel installs all of it or nothing.
func installEgressFilter(netns *os.File, p egressPolicy) error {
	c, err := nftables.New(nftables.WithNetNSFd(int(netns.Fd())))
	if err != nil {
		return err
	}
	if err := addEgressFilter(c, p); err != nil {
		return err
	}
	err = c.Flush()
	runtime.KeepAlive(netns) // its fd was used by Flush (which opened the netlink socket)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

// addEgressFilter queues p's table in c's batch: the sets first, then the
// blocked chain, then the egress chain that jumps to it.
func addEgressFilter(c *nftables.Conn, p egressPolicy) error {
	table := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: egressTable})
	sets, err := addEgressSets(c, table, p)
	if err != nil {
		return err
	}
	blocked := addBlockedChain(c, table)
	addEgressChain(c, table, blocked, sets)
	return nil
}

// egressSets are the interval sets of a policy; a set is nil when its
// ranges are empty, and its rule is then left out.
type egressSets struct {
	blocked4, blocked6, allowed4, allowed6 *nftables.Set
}

// addEgressSets queues p's non-empty sets.
func addEgressSets(c *nftables.Conn, table *nftables.Table, p egressPolicy) (egressSets, error) {
	var sets egressSets
	// Sets get explicit IDs (unique within the batch): left at 0, the
	// library would number them from a global counter it increments
	// without a lock, a data race between sandboxes starting at once.
	var setID uint32
	for _, s := range []struct {
		set  **nftables.Set
		name string
		key  nftables.SetDatatype
		rs   []ipRange
	}{
		{&sets.blocked4, "blocked4", nftables.TypeIPAddr, p.blocked4},
		{&sets.blocked6, "blocked6", nftables.TypeIP6Addr, p.blocked6},
		{&sets.allowed4, "allowed4", nftables.TypeIPAddr, p.allowed4},
		{&sets.allowed6, "allowed6", nftables.TypeIP6Addr, p.allowed6},
	} {
		if len(s.rs) == 0 {
			continue
		}
		setID++
		set := &nftables.Set{Table: table, ID: setID, Name: s.name, KeyType: s.key, Interval: true, Constant: true}
		if err := c.AddSet(set, setElements(s.rs)); err != nil {
			return egressSets{}, fmt.Errorf("set %s: %w", s.name, err)
		}
		*s.set = set
	}
	return sets, nil
}

// addBlockedChain queues the chain blocked destinations go to: TCP is
// reset, so connect(2) fails at once with ECONNREFUSED; anything else is
// rejected as administratively prohibited, so send(2) fails with EPERM.
func addBlockedChain(c *nftables.Conn, table *nftables.Table) *nftables.Chain {
	blocked := c.AddChain(&nftables.Chain{Name: "blocked", Table: table})
	c.AddRule(&nftables.Rule{Table: table, Chain: blocked, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST},
	}})
	c.AddRule(&nftables.Rule{Table: table, Chain: blocked, Exprs: []expr.Any{
		&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED},
	}})
	return blocked
}

// addEgressChain queues the egress chain on the output hook and its rules,
// in the order they are matched.
func addEgressChain(c *nftables.Conn, table *nftables.Table, blocked *nftables.Chain, sets egressSets) {
	accept := nftables.ChainPolicyAccept
	egress := c.AddChain(&nftables.Chain{
		Name:     "egress",
		Table:    table,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookOutput,
		Priority: nftables.ChainPriorityFilter,
		Policy:   &accept,
	})
	rule := func(exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: table, Chain: egress, Exprs: exprs})
	}
	acceptV := &expr.Verdict{Kind: expr.VerdictAccept}
	gotoBlocked := &expr.Verdict{Kind: expr.VerdictGoto, Chain: blocked.Name}
	daddr4 := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
	daddr6 := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16}

	// The sandbox's own traffic: its loopback, and its own tap0 address,
	// which is routed through lo too.
	rule(
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
		acceptV,
	)
	// DNS to slirp's resolver, which forwards to the host's.
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		rule(append(slirpDNSMatch(daddr4, proto), acceptV)...)
	}
	// IPv6 neighbour discovery (router and neighbour solicitations and
	// advertisements) must reach the link for IPv6 to work at all, and
	// goes to link-local and multicast addresses, which are blocked below.
	rule(append(l4protoIs(unix.IPPROTO_ICMPV6),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{133}, ToData: []byte{136}},
		acceptV,
	)...)
	for _, r := range []struct {
		proto byte
		daddr *expr.Payload
		set   *nftables.Set
		v     *expr.Verdict
	}{
		{unix.NFPROTO_IPV4, daddr4, sets.allowed4, acceptV},
		{unix.NFPROTO_IPV6, daddr6, sets.allowed6, acceptV},
		{unix.NFPROTO_IPV4, daddr4, sets.blocked4, gotoBlocked},
		{unix.NFPROTO_IPV6, daddr6, sets.blocked6, gotoBlocked},
	} {
		if r.set != nil {
			rule(append(nfprotoIs(r.proto), r.daddr, lookupIn(r.set), r.v)...)
		}
	}
}

// slirpDNSMatch matches IPv4 packets of proto to port 53 of slirp's
// resolver; daddr loads the IPv4 destination.
func slirpDNSMatch(daddr *expr.Payload, proto byte) []expr.Any {
	dns := slirpDNSAddr.As4()
	exprs := nfprotoIs(unix.NFPROTO_IPV4)
	exprs = append(exprs, daddr, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: dns[:]})
	exprs = append(exprs, l4protoIs(proto)...)
	return append(exprs,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 53}},
	)
}

// nfprotoIs matches packets of a family (NFPROTO_IPV4 or NFPROTO_IPV6).
func nfprotoIs(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// l4protoIs matches packets of a transport protocol (IPPROTO_*).
func l4protoIs(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// lookupIn looks the loaded address up in set.
func lookupIn(set *nftables.Set) *expr.Lookup {
	return &expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID}
}

// ifname is an interface name as nftables compares it (IFNAMSIZ bytes,
// NUL-padded).
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}
