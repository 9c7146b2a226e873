// Package sandbox runs untrusted code. A Driver starts sandboxes; each
// Sandbox is one isolated process tree with its own filesystem view,
// namespaces and resource limits. The orchestrator uses only this
// interface, so other drivers (Kubernetes, a remote sandbox API) can plug in
// behind it; the default is the local driver (bubblewrap + cgroups).
//
// # The local driver
//
// The local driver runs each sandbox with bubblewrap (bwrap) on this
// machine, limits it with cgroups and gives it network through
// slirp4netns. It needs root: for the cgroups, to chown writable mounts and
// to start slirp4netns.
//
// Identity. bwrap itself runs unprivileged, as the sandbox uid (default
// 10000, not root and not "nobody", whose files other daemons may share),
// and creates a user namespace in which that uid is mapped to itself. So
// the app is uid 10000 both inside and on the host: a file it can reach is
// governed by ordinary permissions (the host's /etc/shadow stays
// unreadable), and its capabilities, which bwrap drops anyway, would only
// ever apply to its own namespaces. Had bwrap been run as root with
// --unshare-user --uid 10000, the app would be the host's root seen through
// a uid map, and own every root-owned file it could reach. --disable-userns
// stops the app from creating further user namespaces (kernel attack
// surface). The cost of an unprivileged bwrap: mount sources must be
// reachable by the sandbox uid (mounts.go).
//
// Filesystem. A fresh tmpfs root, read-only once set up, with: /usr and the
// /bin, /sbin, /lib* directories or usr-merge symlinks, read-only; a few
// files from /etc (etcAllowlist: libc, TLS roots, time zone; not all of
// /etc, which holds credentials such as npmrc, pip.conf or the server's own
// config) plus generated passwd, group, hosts, hostname, nsswitch.conf and,
// with network, resolv.conf; a private tmpfs /tmp; a /proc of the sandbox's
// own pid namespace; bwrap's minimal /dev (null, zero, full, random,
// urandom, tty, pts, shm); and Spec.Mounts. Nothing else of the host.
//
// Namespaces: user, mount, pid, ipc, uts, net and (when the kernel has it)
// cgroup. --die-with-parent ties the sandbox to the server; --new-session
// keeps it off the server's terminal.
//
// Start is race-free with respect to the cgroup: bwrap is started with
// --block-fd, so its child (pid 1 of the sandbox) waits after setting up
// the namespaces, before it forks the command. The driver reads the child's
// pid from --info-fd, moves it into the cgroup, starts slirp4netns,
// installs the egress filter in the sandbox's network namespace
// (egress.go), and only then writes to the block fd. The block pipe's
// write end is also bwrap's --sync-fd, which the child holds open: if the
// server dies before unblocking, the child never sees EOF and the command
// never runs. Spec.Forwards listen on the sandbox's loopback from before
// the unblocking byte too (forward.go), so an app may connect to them as
// its first action.
//
// # Outbound network
//
// Outbound network for a sandbox. The sandbox has a network namespace of
// its own (with just a loopback); slirp4netns gives it a tap device whose
// packets it turns into ordinary sockets on the host, a user-mode NAT. The
// sandbox gets 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3.
// --disable-host-loopback makes slirp refuse connections to the host's
// loopback (10.0.2.2 would otherwise be the host's 127.0.0.1), so local
// services like PostgreSQL on 127.0.0.1:5432 stay out of reach. Everything
// else the host reaches (its other addresses, its LAN, the cloud's
// metadata service) is kept out by the egress filter that the driver
// installs in the sandbox's namespace once tap0 is up (egress.go).
//
// It runs as root because it has to open /dev/net/tun, which may be
// root-only (mode 0600; Debian makes it 0666, some VMs and containers do
// not), but it immediately joins the sandbox's user namespace
// (--userns-path) and so holds capabilities only over the sandbox's own
// namespaces; --enable-sandbox then moves it into an empty mount namespace
// without capabilities and --enable-seccomp filters its syscalls, because
// it parses packets the untrusted app writes.
//
// Its lifetime is tied to the server by --exit-fd: it exits when the pipe's
// write end, held by the server, closes, which the kernel does when the
// server dies for any reason. The driver also moves it into the sandbox's
// cgroup, so Cleanup finds and kills one left behind like any sandbox
// process.
//
// # Forwards
//
// Spec.Forwards give an app services of the platform's (its own database)
// at 127.0.0.1:Port inside its sandbox, with or without network. The
// driver listens there with sockets created in the sandbox's network
// namespace and carries each connection to what Forward.Dial returns in
// the host's namespace. The app's side never leaves its loopback, which
// the egress filter accepts, so the filter's blocks (the host's loopback
// and private ranges) stay as they are: the app reaches exactly the
// destinations the platform dials for it, and nothing else of the host.
//
// # Egress filter
//
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
package sandbox
