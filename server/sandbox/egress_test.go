package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
)

func TestEgressRanges(t *testing.T) {
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	rangesString := func(rs []ipRange) string {
		var ss []string
		for _, r := range rs {
			ss = append(ss, r.String())
		}
		return strings.Join(ss, " ")
	}
	v4, v6 := splitRanges([]netip.Prefix{
		p("10.0.0.0/8"),
		p("10.1.2.3/32"),     // inside: swallowed
		p("11.0.0.0/8"),      // touching: merged
		p("192.168.1.77/24"), // not masked
		p("192.168.1.0/25"),
		p("255.255.255.0/24"), // to the last address
		p("fe80::/10"),
		p("fc00::/7"),
		p("fe7f::1/128"),
		p("ff00::/8"),
	})
	if got, want := rangesString(v4), "10.0.0.0-11.255.255.255 192.168.1.0-192.168.1.255 255.255.255.0-255.255.255.255"; got != want {
		t.Errorf("v4 ranges\n got %s\nwant %s", got, want)
	}
	if got, want := rangesString(v6), "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff fe7f::1-fe7f::1 fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"; got != want {
		t.Errorf("v6 ranges\n got %s\nwant %s", got, want)
	}
	// Interval set elements: a start, and the address after the end
	// flagged as an end, except after the family's last address.
	var els []string
	for _, e := range setElements(v4) {
		a, _ := netip.AddrFromSlice(e.Key)
		if e.IntervalEnd {
			els = append(els, "end:"+a.String())
		} else {
			els = append(els, a.String())
		}
	}
	if got, want := strings.Join(els, " "), "10.0.0.0 end:12.0.0.0 192.168.1.0 end:192.168.2.0 255.255.255.0"; got != want {
		t.Errorf("set elements\n got %s\nwant %s", got, want)
	}

	// The default policy: host addresses join the blocks (loopback ones
	// are the sandbox's own), builtin ranges stay.
	pol := egressPolicyFor([]netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("fd00::2")}, nil)
	if got := rangesString(pol.blocked4); !strings.Contains(got, "192.0.2.2-192.0.2.2") || !strings.Contains(got, "169.254.0.0-169.254.255.255") {
		t.Errorf("blocked4: %s", got)
	}
	if len(pol.allowed4) != 0 || len(pol.allowed6) != 0 {
		t.Errorf("allowed without EgressAllow: %v %v", pol.allowed4, pol.allowed6)
	}
	addrs, err := hostAddrs()
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(addrs, netip.Addr.IsLoopback) {
		t.Errorf("hostAddrs includes loopback addresses: %v", addrs)
	}
	t.Logf("host addresses: %v", addrs)
}

// testNetns runs setup (shell commands, with iproute2's ip) in a new
// network namespace and returns that namespace, which lives until the
// test ends.
func testNetns(t *testing.T, setup string) *os.File {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2's ip is not installed")
	}
	cmd := exec.Command("unshare", "--net", "sh", "-ec", setup+"\necho ready\nexec sleep 1000")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("setting up a network namespace: %q %s", line, stderr.String())
	}
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// inNetns runs f on a thread in the network namespace ns (f creates
// sockets there; everything else it does happens there too).
func inNetns(t *testing.T, ns *os.File, f func()) {
	t.Helper()
	home, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := setns(ns.Fd()); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		f()
		if err := setns(home.Fd()); err != nil {
			errc <- err // the thread dies locked
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestEgressFilterRules installs the filter in a network namespace of the
// test's own, laid out like a sandbox's (lo, and 10.0.2.100/24 with the
// default route via 10.0.2.2), whose "link" is a veth pair with both ends
// inside it: a packet the filter lets out goes nowhere, so every address
// can be tried. A UDP send to a blocked address fails at once (EPERM: the
// filter dropped it), one to any other address succeeds; a TCP connect to
// a blocked address is refused at once (the filter's reset), one to any
// other address is still waiting for an answer.
func TestEgressFilterRules(t *testing.T) {
	t.Parallel()
	ns := testNetns(t, `
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v1 up
ip link set v0 up
ip addr add 10.0.2.100/24 dev v0
ip route add default via 10.0.2.2 dev v0
ip -6 addr add 2001:db8::100/64 dev v0 nodad
ip -6 route add default via 2001:db8::1 dev v0
`)
	pol := egressPolicyFor(
		[]netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8:1::7")},
		[]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd12::/16")},
	)
	t0 := time.Now()
	if err := installEgressFilter(ns, pol); err != nil {
		t.Fatal(err)
	}
	t.Logf("installed in %v", time.Since(t0))

	blocked := []string{
		"10.0.0.1", "10.0.2.2", "10.0.2.3", "10.0.2.1", "10.0.2.254", "10.255.255.254",
		"100.64.0.1", "100.127.255.254", "169.254.169.254", "169.254.0.1",
		"172.16.0.1", "172.31.255.254", "192.168.0.1", "192.168.255.254",
		"198.51.100.7", // the "host"
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.254",
		"fc00::1", "fd00::2", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "fe80::1%v0", "febf::1",
		"ff02::1%v0", "ff0e::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
		"2001:db8:1::7", // the "host"
	}
	allowed := []string{
		"1.1.1.1", "9.255.255.255", "11.0.0.1", "100.63.255.255", "100.128.0.1",
		"169.253.255.255", "169.255.0.1", "172.15.255.255", "172.32.0.1",
		"192.167.255.255", "192.169.0.1", "198.51.100.6", "198.51.100.8", "223.255.255.255",
		"10.1.2.3", // EgressAllow
		"2001:db8::5", "2001:db8:1::8", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f::1", "fec0::1",
		"fd12::5", // EgressAllow
	}
	send := func(addr string, port int) error {
		ap := netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(port))
		var err error
		inNetns(t, ns, func() {
			var (
				family int
				sa     syscall.Sockaddr
			)
			if ap.Addr().Is4() {
				family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: port, Addr: ap.Addr().As4()}
			} else {
				var zone uint32
				if z := ap.Addr().Zone(); z != "" {
					ifi, ierr := net.InterfaceByName(z)
					if ierr != nil {
						err = ierr
						return
					}
					zone = uint32(ifi.Index)
				}
				family, sa = syscall.AF_INET6, &syscall.SockaddrInet6{Port: port, Addr: ap.Addr().As16(), ZoneId: zone}
			}
			fd, serr := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
			if serr != nil {
				err = serr
				return
			}
			defer syscall.Close(fd)
			err = syscall.Sendto(fd, []byte("x"), 0, sa)
		})
		return err
	}
	for _, a := range blocked {
		if err := send(a, 9); !errors.Is(err, syscall.EPERM) {
			t.Errorf("UDP to %s: %v, want EPERM (blocked)", a, err)
		}
	}
	for _, a := range allowed {
		if err := send(a, 9); err != nil {
			t.Errorf("UDP to %s: %v, want it sent", a, err)
		}
	}
	// DNS to slirp's resolver, and only DNS.
	if err := send("10.0.2.3", 53); err != nil {
		t.Errorf("DNS to 10.0.2.3: %v", err)
	}
	if err := send("10.0.2.3", 5353); !errors.Is(err, syscall.EPERM) {
		t.Errorf("UDP to 10.0.2.3:5353: %v, want EPERM", err)
	}

	home, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	dial := func(addr string, timeout time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		t0 := time.Now()
		c, err := dialIn(ctx, ns, home, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return time.Since(t0), err
	}
	for _, a := range []string{"10.0.2.2:80", "10.0.2.3:80", "169.254.169.254:80", "198.51.100.7:8080", "[fd00::2]:8080"} {
		if took, err := dial(a, 2*time.Second); !errors.Is(err, syscall.ECONNREFUSED) || took > time.Second {
			t.Errorf("TCP to %s: %v after %v, want refused at once", a, err, took)
		}
	}
	for _, a := range []string{"10.0.2.3:53", "1.1.1.1:443", "10.1.2.3:5432", "[2001:db8::5]:443"} {
		// (The connect's deadline may fire just before ctx's.)
		if _, err := dial(a, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("TCP to %s: %v, want it let out (and so unanswered)", a, err)
		}
	}

	// The namespace's own addresses, through lo: its loopback and its
	// 10.0.2.100, which lies in a blocked range.
	var lfd4, lfd6 int
	inNetns(t, ns, func() {
		lfd4, _ = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		lfd6, _ = syscall.Socket(syscall.AF_INET6, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	})
	for _, l := range []struct {
		fd int
		sa syscall.Sockaddr
	}{{lfd4, &syscall.SockaddrInet4{Port: 3000}}, {lfd6, &syscall.SockaddrInet6{Port: 3001, Addr: netip.IPv6Loopback().As16()}}} {
		if err := syscall.Bind(l.fd, l.sa); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Listen(l.fd, 16); err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(l.fd), "listener")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go acceptAll(ln)
	}
	for _, a := range []string{"127.0.0.1:3000", "127.0.0.2:3000", "10.0.2.100:3000", "[::1]:3001"} {
		if _, err := dial(a, 2*time.Second); err != nil {
			t.Errorf("TCP to its own %s: %v", a, err)
		}
	}
}

// TestEgressPublicInternet: the positive control. A sandbox with network
// resolves a public name through slirp's DNS and connects to it. The only
// public hosts this machine (and CI) reaches are the package registries.
func TestEgressPublicInternet(t *testing.T) {
	t.Parallel()
	const host = "registry.npmjs.org"
	if c, err := net.DialTimeout("tcp", host+":443", 5*time.Second); err != nil {
		t.Skipf("the host itself cannot reach %s:443 (%v): no public address to prove egress with", host, err)
	} else {
		c.Close()
	}
	d := testDriver(t)
	out, errOut, st := run(t, d, Spec{
		Network: true,
		Command: []string{"sh", "-c", `
echo dns=$(getent ahostsv4 ` + host + ` | head -n 1 | cut -d ' ' -f 1)
exec node -e "$0" "$@"`, nodeProbe,
			// One retry, only if the first attempt failed.
			"registry " + host + " 443",
			"registry_retry " + host + " 443 registry",
		},
	})
	if st.Code != 0 {
		t.Fatalf("status %+v: %s%s", st, out, errOut)
	}
	t.Logf("sandbox:\n%s", out)
	r := results(out)
	if ip, err := netip.ParseAddr(r["dns"]); err != nil {
		t.Errorf("getent ahostsv4 %s through 10.0.2.3: %q", host, r["dns"])
	} else if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		t.Logf("note: %s resolves to %s, which the filter blocks", host, ip)
	}
	if r["registry"] != "ok" && r["registry_retry"] != "ok" {
		t.Errorf("connect to %s:443 from the sandbox: %q, then %q; the host reaches it", host, r["registry"], r["registry_retry"])
	}
}

// TestEgressLoopback: with the filter on, the app talks to itself over its
// loopback (v4 and v6) and its own tap0 address, and the router reaches it
// with DialContext.
func TestEgressLoopback(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	s := start(t, d, Spec{
		Network: true,
		Command: []string{"node", "-e", `
const http = require('http'), net = require('net');
const probe = (name, host) => new Promise((resolve) => {
  const sock = net.connect({host, port: 3000});
  const done = (r) => { console.log(name + '=' + r); sock.destroy(); resolve(); };
  sock.setTimeout(3000, () => done('timeout'));
  sock.on('connect', () => done('ok'));
  sock.on('error', (e) => done(e.code || e.message));
});
http.createServer((req, res) => res.end('hello from ' + req.url)).listen(3000, '::', async () => {
  await probe('self_v4', '127.0.0.1');
  await probe('self_v6', '::1');
  await probe('self_tap', '10.0.2.100');
  console.log('ready');
});`},
		Stdout: &out, Stderr: &out,
	})
	waitFor(t, &out, "ready", 15*time.Second)
	r := results(out.String())
	for _, name := range []string{"self_v4", "self_v6", "self_tap"} {
		if r[name] != "ok" {
			t.Errorf("the app connecting to itself (%s): %q", name, r[name])
		}
	}
	if s.egressSetup == 0 {
		t.Errorf("no egress filter was installed")
	}
	client := &http.Client{Transport: &http.Transport{DialContext: s.DialContext}, Timeout: 5 * time.Second}
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		resp, err := client.Get("http://" + host + ":3000/x")
		if err != nil {
			t.Errorf("GET via DialContext to %s: %v", host, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello from /x" {
			t.Errorf("body %q", body)
		}
	}
	assertThreadsInHostNetns(t)
}

// TestAllowPrivateEgress: the options that let a sandbox reach what the
// filter blocks by default.
func TestAllowPrivateEgress(t *testing.T) {
	t.Parallel()
	extIP, extPort := hostListener(t)
	if extIP == "" {
		t.Skip("no non-loopback IPv4 address on this host")
	}
	for _, tc := range []struct {
		name string
		opts LocalOptions
	}{
		{"AllowPrivateEgress", LocalOptions{AllowPrivateEgress: true}},
		{"EgressAllow", LocalOptions{EgressAllow: []netip.Prefix{netip.MustParsePrefix(extIP + "/32")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			opts.CgroupRoot = testCgroupRoot
			opts.Logger = testDriver(t).log
			d, err := NewLocal(opts)
			if err != nil {
				t.Fatal(err)
			}
			var out syncBuffer
			s := start(t, d, Spec{
				Network: true,
				Command: []string{"node", "-e", nodeProbe, "host_ext " + extIP + " " + extPort, "host_gateway 10.0.2.2 " + extPort},
				Stdout:  &out, Stderr: &out,
			})
			waitDone(t, s, 30*time.Second)
			t.Logf("sandbox:\n%s", out.String())
			r := results(out.String())
			if r["host_ext"] != "ok" {
				t.Errorf("host_ext: %q, want ok: the option lets the sandbox reach the host's %s", r["host_ext"], extIP)
			}
			// slirp4netns still keeps the host's loopback out of reach.
			if r["host_gateway"] == "ok" {
				t.Errorf("host_gateway: reached the host's loopback")
			}
			if installed := s.egressSetup != 0; installed == opts.AllowPrivateEgress {
				t.Errorf("egress filter installed: %v, with AllowPrivateEgress %v", installed, opts.AllowPrivateEgress)
			}
		})
	}
	if _, err := NewLocal(LocalOptions{CgroupRoot: testCgroupRoot, EgressAllow: []netip.Prefix{{}}}); err == nil {
		t.Errorf("NewLocal accepted an invalid EgressAllow prefix")
	}
}

// TestEgressFilterFailure: a sandbox whose filter cannot be installed does
// not start, and its command never runs.
func TestEgressFilterFailure(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	d.installEgress = func(*os.File, egressPolicy) error { return errors.New("injected failure") }
	dir := hostDir(t)
	name := testName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sb, err := d.Start(ctx, Spec{
		Name:    name,
		Network: true,
		Command: []string{"touch", "/data/ran"},
		Mounts:  []Mount{{HostPath: dir, SandboxPath: "/data", Writable: true}},
		Env:     testEnv,
	})
	if err == nil {
		_ = sb.Stop(0)
		t.Fatal("Start succeeded without its egress filter")
	}
	t.Logf("Start: %v", err)
	if !strings.Contains(err.Error(), "egress filter") || !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("error %q does not say the egress filter failed", err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Errorf("the command ran")
	}
	for _, dir := range d.cg.dirs(name) {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s left behind (%v)", dir, err)
		}
	}
	d.mu.Lock()
	_, reserved := d.running[name]
	d.mu.Unlock()
	if reserved {
		t.Errorf("the name is still reserved")
	}
}

// TestEgressSetupCost measures what the filter adds to Start: sandboxes
// with network are started with and without it. (Not parallel: it
// measures time.)
func TestEgressSetupCost(t *testing.T) {
	const n = 8
	filtered := testDriver(t)
	unfiltered, err := NewLocal(LocalOptions{CgroupRoot: testCgroupRoot, AllowPrivateEgress: true, Logger: filtered.log})
	if err != nil {
		t.Fatal(err)
	}
	measure := func(d *Local) (took, setup time.Duration) {
		for range n {
			t0 := time.Now()
			s := start(t, d, Spec{Network: true, Command: []string{"true"}})
			took += time.Since(t0)
			setup += s.egressSetup
			waitDone(t, s, 10*time.Second)
		}
		return took / n, setup / n
	}
	measure(filtered) // warm up
	withStart, setup := measure(filtered)
	withoutStart, _ := measure(unfiltered)
	t.Logf("Start with network, mean of %d: %v with the egress filter (installing it: %v), %v without", n, withStart, setup, withoutStart)
}

// BenchmarkEgressFilter measures installing the filter (the host's
// addresses read, the policy made, the rules sent) into a fresh network
// namespace; deleting it again is not counted.
func BenchmarkEgressFilter(b *testing.B) {
	cmd := exec.Command("unshare", "--net", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var ns *os.File
	for ns == nil {
		// Until unshare has made the namespace and exec'd sleep.
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid)); strings.HasSuffix(exe, "/sleep") {
			var err error
			if ns, err = os.Open(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		addrs, err := hostAddrs()
		if err != nil {
			b.Fatal(err)
		}
		if err := installEgressFilter(ns, egressPolicyFor(addrs, nil)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: egressTable})
		if err := c.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
