package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run real sandboxes: bwrap, cgroups and slirp4netns, as root.
// They need no internet. Each test's sandboxes live under a cgroup root of
// this test process's own, so they never touch a real server's sandboxes.

var testCgroupRoot = fmt.Sprintf("coderunner-test-%d", os.Getpid())

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "server/sandbox: the local driver tests must run as root (cgroups, chown, slirp4netns)")
		os.Exit(1)
	}
	code := m.Run()
	// The per-sandbox cgroups are removed by Stop; the roots are the
	// tests' own.
	for _, root := range []string{testCgroupRoot, testCgroupRoot + "-cleanup"} {
		if fsys, err := detectCgroups(root); err == nil {
			for _, d := range fsys.prefixDirs() {
				if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
					fmt.Fprintf(os.Stderr, "removing %s: %v\n", d, err)
					code = 1
				}
			}
		}
	}
	os.Exit(code)
}

var testEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"}

func newTestDriver(t testing.TB, root string) *Local {
	t.Helper()
	d, err := NewLocal(LocalOptions{
		CgroupRoot: root,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testDriver(t testing.TB) *Local { return newTestDriver(t, testCgroupRoot) }

var nameSeq atomic.Int64

// testName makes a unique sandbox name from the test's name.
func testName(t testing.TB) string {
	n := strings.NewReplacer("/", "-", "_", "-", "#", "-").Replace(strings.ToLower(t.Name()))
	if len(n) > 60 {
		n = n[:60]
	}
	return fmt.Sprintf("%s-%d", n, nameSeq.Add(1))
}

// start starts a sandbox and stops it when the test ends, checking that
// Stop released its cgroup.
func start(t testing.TB, d *Local, spec Spec) *localSandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sb, err := d.Start(ctx, withTestDefaults(t, spec))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	s := sb.(*localSandbox)
	t.Cleanup(func() {
		if err := s.Stop(0); err != nil {
			t.Errorf("Stop: %v", err)
		}
		assertCgroupGone(t, s)
	})
	return s
}

// withTestDefaults gives spec a unique name and the test environment
// where it has none.
func withTestDefaults(t testing.TB, spec Spec) Spec {
	if spec.Name == "" {
		spec.Name = testName(t)
	}
	if spec.Env == nil {
		spec.Env = testEnv
	}
	return spec
}

func assertCgroupGone(t testing.TB, s *localSandbox) {
	t.Helper()
	for _, dir := range s.dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s still exists after the sandbox ended (%v)", dir, err)
		}
	}
}

// run runs a sandbox to completion and returns its output.
func run(t testing.TB, d *Local, spec Spec) (stdout, stderr string, st ExitStatus) {
	t.Helper()
	var out, errOut syncBuffer
	spec.Stdout, spec.Stderr = &out, &errOut
	s := start(t, d, spec)
	waitDone(t, s, 30*time.Second)
	return out.String(), errOut.String(), s.Status()
}

func waitDone(t testing.TB, s Sandbox, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(timeout):
		t.Fatalf("sandbox %s did not end within %v", s.Name(), timeout)
	}
}

// waitFor waits until buf contains want.
func waitFor(t testing.TB, buf *syncBuffer, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output within %v; got %q", want, timeout, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostDir makes a directory on the host that the sandbox uid can reach
// (t.TempDir's parent is 0700).
func hostDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// results parses the "name=value" lines the sandboxed scripts print.
func results(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestFilesystemIsolation(t *testing.T) {
	t.Parallel()
	d := testDriver(t)

	// A secret on the host, readable by everyone there: only the mount
	// namespace keeps the sandbox from it.
	secretDir := hostDir(t)
	secret := filepath.Join(secretDir, "secret.txt")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rw := hostDir(t)
	if err := os.WriteFile(filepath.Join(rw, "preexisting"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The recursive chown of a writable mount does not follow symlinks.
	if err := os.Symlink(secret, filepath.Join(rw, "escape")); err != nil {
		t.Fatal(err)
	}
	ro := hostDir(t)
	if err := os.WriteFile(filepath.Join(ro, "file"), []byte("read-only content\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	script := `
cat ` + secret + ` >/dev/null 2>&1; echo secret=$?
ls ` + secretDir + ` >/dev/null 2>&1; echo secretdir=$?
echo hi > /data/new; echo rw_create=$?
echo more >> /data/preexisting; echo rw_append=$?
cat /ro/file >/dev/null; echo ro_read=$?
touch /ro/x 2>/dev/null; echo ro_write=$?
touch /usr/x 2>/dev/null; echo usr_write=$?
touch /etc/x 2>/dev/null; echo etc_write=$?
touch /x 2>/dev/null; echo root_write=$?
touch /tmp/x; echo tmp_write=$?
test -e /etc/shadow; echo shadow=$?
test -e /etc/npmrc; echo npmrc=$?
test -e /sys/fs/cgroup; echo sys=$?
test -e /root; echo rootdir=$?
echo uid=$(id -u)
echo gid=$(id -g)
echo user=$(id -un)
echo cwd=$(pwd)
echo fds=$(ls /proc/self/fd | tr '\n' ' ')
echo root=$(ls / | tr '\n' ' ')
echo devs=$(ls /dev | tr '\n' ' ')
`
	out, errOut, st := run(t, d, Spec{
		Command: []string{"sh", "-c", script},
		WorkDir: "/data",
		Mounts: []Mount{
			{HostPath: rw, SandboxPath: "/data", Writable: true},
			{HostPath: ro, SandboxPath: "/ro"},
		},
	})
	if st.Code != 0 {
		t.Fatalf("status %+v, stderr %q", st, errOut)
	}
	r := results(out)
	t.Logf("sandbox view:\n%s", out)
	want := map[string]string{
		"secret": "1", "secretdir": "2", // not there at all
		"rw_create": "0", "rw_append": "0",
		"ro_read": "0", "ro_write": "1",
		"usr_write": "1", "etc_write": "1", "root_write": "1",
		"tmp_write": "0",
		"shadow":    "1", "npmrc": "1", "sys": "1", "rootdir": "1",
		"uid": "10000", "gid": "10000", "user": "app",
		"cwd": "/data",
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %q, want %q", k, r[k], v)
		}
	}
	// 0-2 are stdio; 3 is ls's own directory fd. No fd of bwrap's setup
	// (mount sources, pipes) leaks into the sandbox.
	if got := strings.Fields(r["fds"]); !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Errorf("open fds in the sandbox: %v, want 0 1 2 3", got)
	}
	if got := strings.Fields(r["root"]); !slices.Equal(got, []string{"bin", "data", "dev", "etc", "lib", "lib64", "proc", "ro", "sbin", "tmp", "usr", "var"}) {
		t.Logf("note: / in the sandbox is %v", got)
		for _, bad := range []string{"home", "root", "work", "run", "sys", "srv", "opt", "mnt"} {
			if slices.Contains(got, bad) {
				t.Errorf("host directory /%s is visible in the sandbox", bad)
			}
		}
	}
	// The file the sandbox created belongs to the sandbox uid on the host;
	// the symlink's target was not chowned.
	var stat syscall.Stat_t
	if err := syscall.Stat(secret, &stat); err != nil || stat.Uid != 0 {
		t.Errorf("the target of a symlink in a writable mount was chowned: uid %d, %v", stat.Uid, err)
	}
	if err := syscall.Stat(filepath.Join(rw, "new"), &stat); err != nil {
		t.Fatal(err)
	}
	if stat.Uid != 10000 {
		t.Errorf("file written by the sandbox has host uid %d, want 10000", stat.Uid)
	}
}

func TestProcessIsolation(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	s := start(t, d, Spec{
		Command: []string{"sh", "-c", `echo procs=$(ls /proc | grep '^[0-9]*$' | tr '\n' ' '); echo ps=$(ps -e -o pid= | tr '\n' ' '); echo host=$(hostname); echo ready; sleep 1000`},
		Stdout:  &out, Stderr: &out,
	})
	waitFor(t, &out, "ready", 10*time.Second)
	r := results(out.String())
	// pid 1 (bwrap's init), 2 (sh), and the ls/ps of the moment.
	for _, p := range strings.Fields(r["procs"]) {
		if n, _ := strconv.Atoi(p); n > 10 {
			t.Errorf("/proc in the sandbox shows pid %s: %q", p, r["procs"])
		}
	}
	ps := strings.Fields(r["ps"])
	if len(ps) < 2 || !slices.Contains(ps, "1") || !slices.Contains(ps, "2") {
		t.Errorf("ps -e in the sandbox lists %v, want pid 1, 2 and its own helpers", ps)
	}
	for _, p := range ps {
		if n, _ := strconv.Atoi(p); n > 10 {
			t.Errorf("ps -e in the sandbox shows pid %s: %v", p, ps)
		}
	}
	if !strings.HasPrefix(r["host"], "testprocessisolation") {
		t.Errorf("hostname %q, want the sandbox's name", r["host"])
	}
	// On the host, every process of the sandbox runs as uid 10000.
	pids, err := cgroupProcs(s.dirs)
	if err != nil || len(pids) < 2 {
		t.Fatalf("cgroup procs %v, %v", pids, err)
	}
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" && f[1] != "10000" {
				t.Errorf("pid %d runs as host uid %s", pid, f[1])
			}
		}
	}
}

func TestNoNetwork(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	out, errOut, st := run(t, d, Spec{Command: []string{"sh", "-c", `
echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
test -e /etc/resolv.conf; echo resolv=$?
`}})
	if st.Code != 0 {
		t.Fatalf("status %+v: %s", st, errOut)
	}
	r := results(out)
	if r["ifaces"] != "lo" {
		t.Errorf("interfaces %q, want only lo", r["ifaces"])
	}
	if r["resolv"] != "1" {
		t.Errorf("/etc/resolv.conf exists without network")
	}
}

// nodeProbe connects to each "name host port [guard]", one after the
// other, over IPv4, and prints name=ok or name=<error code>, and name_ms=
// how long it took. A probe with a guard is skipped (name=skipped) unless
// the guard probe failed: an address outside this machine is only probed
// once the filter has been seen to work, so that a broken filter sends
// nothing to it.
const nodeProbe = `
const net = require('net');
const targets = process.argv.slice(1).map(s => s.split(' '));
const results = {};
(async () => {
  for (const [name, host, port, guard] of targets) {
    if (guard && (results[guard] === undefined || results[guard] === 'ok')) {
      console.log(name + '=skipped');
      continue;
    }
    const t0 = Date.now();
    const r = await new Promise((resolve) => {
      const sock = net.connect({host, port: +port, family: 4});
      const done = (r) => { sock.destroy(); resolve(r); };
      sock.setTimeout(5000, () => done('timeout'));
      sock.on('connect', () => done('ok'));
      sock.on('error', (e) => done(e.code || e.message));
    });
    results[name] = r;
    console.log(name + '=' + r);
    console.log(name + '_ms=' + (Date.now() - t0));
  }
})();
`

// hostListener listens on the host's first non-loopback IPv4 address (an
// address of this machine, reachable through slirp4netns unless filtered);
// ip is "" if the host has none.
func hostListener(t *testing.T) (ip string, port string) {
	t.Helper()
	addr := nonLoopbackIPv4()
	if addr == nil {
		return "", ""
	}
	l, err := net.Listen("tcp", net.JoinHostPort(addr.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go acceptAll(l)
	return addr.String(), strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// assertRejected checks that probe name failed, and fast: the filter
// rejects rather than drops.
func assertRejected(t *testing.T, r map[string]string, name string) {
	t.Helper()
	ms, _ := strconv.Atoi(r[name+"_ms"])
	switch {
	case r[name] == "ok" || r[name] == "" || r[name] == "skipped":
		t.Errorf("%s: %q, want a failed connection", name, r[name])
	case r[name] == "timeout" || ms >= 2000:
		t.Errorf("%s: %s after %d ms, want it refused at once", name, r[name], ms)
	}
}

// TestNetworkEgress: a sandbox with network reaches neither the host's
// loopback (slirp4netns --disable-host-loopback) nor, through the egress
// filter, the host's other addresses, slirp's gateway (the host) or the
// cloud metadata address; connections to them fail at once. What it may
// reach is in TestEgressPublicInternet.
func TestNetworkEgress(t *testing.T) {
	t.Parallel()
	d := testDriver(t)

	// A server on the host's loopback, which the sandbox must not reach.
	loop, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	go acceptAll(loop)
	loopPort := strconv.Itoa(loop.Addr().(*net.TCPAddr).Port)
	targets := []string{
		"pg_loopback 127.0.0.1 5432",
		"pg_gateway 10.0.2.2 5432",
		"host_loopback 127.0.0.1 " + loopPort,
		"host_gateway 10.0.2.2 " + loopPort,
		"slirp_dns_http 10.0.2.3 80",
	}
	mustFail := []string{"pg_gateway", "host_loopback", "host_gateway", "slirp_dns_http"}
	// And one on the host's own non-loopback address (where the platform
	// listens by default, on all interfaces), which the filter blocks.
	if extIP, extPort := hostListener(t); extIP != "" {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(extIP, extPort), time.Second); err != nil {
			t.Fatalf("the host cannot reach its own listener: %v", err)
		} else {
			c.Close()
		}
		targets = append(targets,
			"host_ext "+extIP+" "+extPort,
			// Outside this machine: probed only once host_ext was refused.
			"metadata 169.254.169.254 80 host_ext",
		)
		mustFail = append(mustFail, "host_ext", "metadata")
	} else {
		t.Log("no non-loopback IPv4 address on this host: the host's own address and the metadata address are not probed")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second); err == nil {
		c.Close()
	} else {
		t.Logf("note: nothing listens on the host's 127.0.0.1:5432 (%v); the loopback server above covers the case", err)
	}

	out, errOut, st := run(t, d, Spec{
		Network: true,
		Command: append([]string{"sh", "-c", `
echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')
echo resolv=$(cat /etc/resolv.conf)
grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -d '\t' | tr : =
exec node -e "$0" "$@"`, nodeProbe}, targets...),
	})
	if st.Code != 0 {
		t.Fatalf("status %+v: %s%s", st, out, errOut)
	}
	t.Logf("sandbox:\n%s", out)
	r := results(out)
	if r["ifaces"] != "lo tap0" {
		t.Errorf("interfaces %q, want lo tap0", r["ifaces"])
	}
	if r["resolv"] != "nameserver 10.0.2.3" {
		t.Errorf("resolv.conf %q", r["resolv"])
	}
	// The app can never change the rules: it has no capabilities, and can
	// gain none.
	if r["CapEff"] != "0000000000000000" || r["CapBnd"] != "0000000000000000" || r["NoNewPrivs"] != "1" {
		t.Errorf("the sandbox's capabilities: CapEff %s CapBnd %s NoNewPrivs %s", r["CapEff"], r["CapBnd"], r["NoNewPrivs"])
	}
	// Nothing listens on the sandbox's own 127.0.0.1:5432.
	if r["pg_loopback"] != "ECONNREFUSED" {
		t.Errorf("pg_loopback: %q, want ECONNREFUSED", r["pg_loopback"])
	}
	for _, name := range mustFail {
		assertRejected(t, r, name)
	}
}

func acceptAll(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func nonLoopbackIPv4() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP
		}
	}
	return nil
}

// freePort returns a TCP port that nothing on the host's loopback listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const nodeHTTP = `
require('http').createServer((req, res) => res.end('hello from ' + req.url)).listen(+process.argv[2], process.argv[1], () => console.log('listening'));
`

// startHTTP runs a node HTTP server in a sandbox on bind:port.
func startHTTP(t testing.TB, d *Local, bind string, port int) *localSandbox {
	t.Helper()
	var out syncBuffer
	s := start(t, d, Spec{
		Command: []string{"node", "-e", nodeHTTP, bind, strconv.Itoa(port)},
		Stdout:  &out, Stderr: &out,
	})
	waitFor(t, &out, "listening", 15*time.Second)
	return s
}

func TestDialContext(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	for _, bind := range []string{"127.0.0.1", "0.0.0.0"} {
		t.Run(bind, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			s := startHTTP(t, d, bind, port)
			client := &http.Client{Transport: &http.Transport{DialContext: s.DialContext}, Timeout: 5 * time.Second}
			for _, host := range []string{"127.0.0.1", "localhost"} {
				resp, err := client.Get(fmt.Sprintf("http://%s:%d/x", host, port))
				if err != nil {
					t.Fatalf("GET via DialContext: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "hello from /x" {
					t.Errorf("body %q", body)
				}
			}
			// The host's network does not have it.
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.Close()
				t.Errorf("the sandbox's port %d is reachable from the host", port)
			}
			// A closed port inside is refused at once.
			if _, err := s.DialContext(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port+1)); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dial to a closed port: %v, want ECONNREFUSED", err)
			}
			// Many dials at once, then every thread of this process must be
			// back in the host's network namespace.
			var wg sync.WaitGroup
			for range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if c, err := s.DialContext(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
						c.Close()
					} else {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			assertThreadsInHostNetns(t)
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.Close()
				t.Errorf("after DialContext, an ordinary dial reached the sandbox")
			}
			if err := s.Stop(time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DialContext(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				t.Errorf("DialContext works after Stop")
			}
		})
	}
}

// assertThreadsInHostNetns checks that no thread of the test process was
// left in a sandbox's network namespace. (Parallel tests dial too, so a
// thread may be inside one for a few microseconds: only a thread that
// stays there counts.)
func assertThreadsInHostNetns(t *testing.T) {
	t.Helper()
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var stray []string
	for range 20 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		stray = nil
		for _, task := range tasks {
			ns, err := os.Readlink("/proc/self/task/" + task.Name() + "/ns/net")
			if err == nil && ns != host {
				stray = append(stray, task.Name()+" in "+ns)
			}
		}
		if len(stray) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("threads left outside the host's network namespace %s: %v", host, stray)
}

func TestDialContextCancel(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	s := start(t, d, Spec{Command: []string{"sleep", "1000"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DialContext(ctx, "tcp", "127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dial: %v", err)
	}
	if _, err := s.DialContext(context.Background(), "tcp", "example.com:80"); err == nil {
		t.Errorf("dial to a host name succeeded; names are not resolved")
	}
	if _, err := s.DialContext(context.Background(), "udp", "127.0.0.1:53"); err == nil {
		t.Errorf("udp dial succeeded")
	}
}

// TestInCgroupFromStart: the command's very first instruction already runs
// in the sandbox's cgroup, in every controller with a limit.
func TestInCgroupFromStart(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	name := testName(t)
	out, errOut, st := run(t, d, Spec{Name: name, Command: []string{"cat", "/proc/self/cgroup"}})
	if st.Code != 0 {
		t.Fatalf("status %+v: %s", st, errOut)
	}
	want := "/" + testCgroupRoot + "/" + name
	for _, ctl := range []string{"memory", "pids", "cpu", "cpuacct"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			// "4:memory:/../coderunner-test-1/x" (relative to the cgroup
			// namespace, which bwrap made before the move)
			if f := strings.SplitN(line, ":", 3); len(f) == 3 && slices.Contains(strings.Split(f[1], ","), ctl) {
				found = strings.HasSuffix(f[2], want)
			}
		}
		if !found && d.CgroupVersion() == 1 {
			t.Errorf("%s: the command did not start in the sandbox's cgroup:\n%s", ctl, out)
		}
	}
	if d.CgroupVersion() == 2 && !strings.Contains(out, want) {
		t.Errorf("the command did not start in the sandbox's cgroup:\n%s", out)
	}
}

func TestMemoryLimitOOM(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	out, errOut, st := run(t, d, Spec{
		Limits:  Limits{MemoryBytes: 64 << 20},
		Command: []string{"node", "-e", `const a = []; for (let i = 0; i < 200; i++) a.push(Buffer.alloc(1 << 20, 1)); console.log('survived');`},
	})
	if !st.OOMKilled || st.Signal != syscall.SIGKILL {
		t.Errorf("status %+v, want OOMKilled by SIGKILL; output %q %q", st, out, errOut)
	}
	if strings.Contains(out, "survived") {
		t.Errorf("allocated 200 MiB under a 64 MiB limit")
	}
}

func TestMemoryStats(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	s := start(t, d, Spec{
		Limits: Limits{MemoryBytes: 300 << 20},
		Command: []string{"node", "-e", `
console.log('ready');
process.stdin.resume();
setTimeout(() => { globalThis.keep = Buffer.alloc(100 << 20, 1); console.log('allocated'); }, 500);
setInterval(() => {}, 1000);`},
		Stdout: &out, Stderr: &out,
	})
	waitFor(t, &out, "ready", 10*time.Second)
	before, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "allocated", 10*time.Second)
	after, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memory before %d MiB, after %d MiB; %+v", before.MemoryBytes>>20, after.MemoryBytes>>20, after)
	if after.MemoryBytes-before.MemoryBytes < 80<<20 {
		t.Errorf("memory rose by %d bytes after allocating 100 MiB", after.MemoryBytes-before.MemoryBytes)
	}
	if after.MemoryLimitBytes != 300<<20 {
		t.Errorf("MemoryLimitBytes %d", after.MemoryLimitBytes)
	}
	if after.Pids < 2 {
		t.Errorf("Pids %d", after.Pids)
	}
	if after.CPUUsage <= 0 {
		t.Errorf("CPUUsage %v", after.CPUUsage)
	}
}

func TestPidsLimit(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	// node tries to start 60 children; past the limit (which counts
	// threads too: node has about ten) fork fails with EAGAIN.
	s := start(t, d, Spec{
		Limits: Limits{Pids: 32},
		Command: []string{"node", "-e", `
const { spawn } = require('child_process');
let ok = 0, failed = 0, left = 60;
const done = () => { if (--left === 0) console.log('spawned=' + ok + ' failed=' + failed); };
for (let i = 0; i < 60; i++) {
  const c = spawn('sleep', ['1000'], { stdio: 'ignore' });
  c.on('spawn', () => { ok++; done(); });
  c.on('error', (e) => { failed++; done(); });
}
setInterval(() => {}, 1000);`},
		Stdout: &out, Stderr: &out,
	})
	waitFor(t, &out, "spawned=", 15*time.Second)
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	pids, _ := cgroupProcs(s.dirs)
	t.Logf("%s; stats %+v, %d processes in the cgroup", strings.TrimSpace(out.String()), st, len(pids))
	if st.Pids > 32 || len(pids) > 32 {
		t.Errorf("%d pids (%d processes) under a limit of 32", st.Pids, len(pids))
	}
	r := results(strings.ReplaceAll(out.String(), " ", "\n"))
	if r["failed"] == "0" || r["spawned"] == "0" {
		t.Errorf("want some children started and some refused: %q", out.String())
	}
}

// TestCPULimit is not parallel: it measures CPU time against the wall
// clock and must not compete with the other tests for the machine.
func TestCPULimit(t *testing.T) {
	d := testDriver(t)
	// Two busy loops would use two cores; the limit is half of one.
	s := start(t, d, Spec{
		Limits:  Limits{CPUMillicores: 500},
		Command: []string{"sh", "-c", `while :; do :; done & while :; do :; done`},
	})
	time.Sleep(300 * time.Millisecond)
	s1, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	time.Sleep(2 * time.Second)
	s2, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	cores := float64(s2.CPUUsage-s1.CPUUsage) / float64(time.Since(t1))
	t.Logf("CPU use under a 500 millicore limit: %.2f cores", cores)
	if cores < 0.3 || cores > 0.7 {
		t.Errorf("used %.2f cores under a limit of 0.5", cores)
	}
}

func TestStopKillsEverything(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	s := start(t, d, Spec{
		Network: true, // slirp4netns must go too
		Command: []string{"sh", "-c", `trap "" TERM; sleep 1000 & sleep 1000`},
	})
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for len(pids) < 5 { // pid 1, sh, 2 sleeps, slirp4netns
		if time.Now().After(deadline) {
			t.Fatalf("sandbox processes: %v", pids)
		}
		time.Sleep(10 * time.Millisecond)
		pids, _ = cgroupProcs(s.dirs)
	}
	slirpPid := s.slirp.pid()
	if !slices.Contains(pids, slirpPid) {
		t.Errorf("slirp4netns (%d) is not in the sandbox's cgroup %v", slirpPid, pids)
	}
	startStop := time.Now()
	if err := s.Stop(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	took := time.Since(startStop)
	t.Logf("Stop(200ms) of %d processes ignoring SIGTERM took %v", len(pids), took)
	if took < 200*time.Millisecond {
		t.Errorf("Stop returned after %v, before the grace period", took)
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("pid %d survived Stop", pid)
		}
	}
	if st := s.Status(); st.Signal != syscall.SIGKILL {
		t.Errorf("status %+v, want killed by SIGKILL", st)
	}
	assertCgroupGone(t, s)
	if err := s.Stop(0); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStopGraceful(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	s := start(t, d, Spec{
		Command: []string{"node", "-e", `
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
setInterval(() => {}, 1000);
console.log('ready');`},
		Stdout: &out, Stderr: &out,
	})
	waitFor(t, &out, "ready", 10*time.Second)
	t0 := time.Now()
	if err := s.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("Stop took %v; the app exited on SIGTERM", took)
	}
	if st := s.Status(); st != (ExitStatus{Code: 0}) {
		t.Errorf("status %+v, want a clean exit 0", st)
	}
	if !strings.Contains(out.String(), "bye") {
		t.Errorf("output %q", out.String())
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	s := start(t, d, Spec{Command: []string{"sh", "-c", "sleep 0.2; exit 3"}, Stdout: &out, Stderr: &out})
	waitDone(t, s, 10*time.Second)
	if st := s.Status(); st != (ExitStatus{Code: 3}) {
		t.Errorf("status %+v, want exit code 3 (%q)", st, out.String())
	}
	// Ending by itself releases the cgroup too.
	assertCgroupGone(t, s)
	if _, err := s.Stats(); err != nil {
		t.Errorf("Stats after the end: %v", err)
	}
	if err := s.Signal(syscall.SIGTERM); err == nil {
		t.Errorf("Signal after the end succeeded")
	}
}

func TestSignal(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var out syncBuffer
	s := start(t, d, Spec{
		Command: []string{"sh", "-c", `trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done`},
		Stdout:  &out, Stderr: &out,
	})
	waitFor(t, &out, "ready", 10*time.Second)
	if err := s.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitDone(t, s, 10*time.Second)
	if st := s.Status(); st != (ExitStatus{Code: 7}) || !strings.Contains(out.String(), "got-usr1") {
		t.Errorf("status %+v, output %q", st, out.String())
	}
	// Killed by a signal: reported as the signal.
	s2 := start(t, d, Spec{Command: []string{"sleep", "1000"}})
	if err := s2.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitDone(t, s2, 10*time.Second)
	if st := s2.Status(); st != (ExitStatus{Code: -1, Signal: syscall.SIGTERM}) {
		t.Errorf("status %+v, want killed by SIGTERM", st)
	}
}

func TestOutput(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	out, errOut, st := run(t, d, Spec{
		Command: []string{"sh", "-c", `echo to-stdout; echo to-stderr >&2; echo "env=$FOO"`},
		Env:     append([]string{"FOO=bar baz"}, testEnv...),
	})
	if st.Code != 0 || out != "to-stdout\nenv=bar baz\n" || errOut != "to-stderr\n" {
		t.Errorf("status %+v, stdout %q, stderr %q", st, out, errOut)
	}
	// A command that does not exist: bwrap reports it on stderr, exit 1.
	_, errOut, st = run(t, d, Spec{Command: []string{"no-such-command"}})
	if st.Code == 0 || !strings.Contains(errOut, "no-such-command") {
		t.Errorf("missing command: status %+v, stderr %q", st, errOut)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	ctx := context.Background()
	private := filepath.Join(t.TempDir(), "locked", "inner") // out of the sandbox uid's reach
	if err := os.MkdirAll(private, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(private), 0o700); err != nil {
		t.Fatal(err)
	}
	// A symlink a sandbox could have planted (owned by the sandbox uid).
	planted := filepath.Join(hostDir(t), "dist")
	if err := os.Symlink(hostDir(t), planted); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(planted, 10000, 10000); err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string]Spec{
		"bad name":           {Name: "../x", Command: []string{"true"}},
		"no command":         {Name: "x"},
		"relative mount":     {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: "rel", SandboxPath: "/a"}}},
		"missing source":     {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: "/nonexistent/dir", SandboxPath: "/a"}}},
		"unreachable source": {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: private, SandboxPath: "/a"}}},
		"mount over /proc":   {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: "/tmp", SandboxPath: "/proc"}}},
		"NUL in env":         {Name: "x", Command: []string{"true"}, Env: []string{"A=1\x00--bind\x00/\x00/host"}},
		"NUL in mount":       {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: "/usr", SandboxPath: "/a\x00--bind\x00/\x00/host"}}},
		"writable /etc":      {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: "/etc", SandboxPath: "/a", Writable: true}}},
		"sandbox's symlink":  {Name: "x", Command: []string{"true"}, Mounts: []Mount{{HostPath: planted, SandboxPath: "/a"}}},
	} {
		if sb, err := d.Start(ctx, spec); err == nil {
			_ = sb.Stop(0)
			t.Errorf("%s: Start succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// bwrap's own setup failing (no mount point can be made inside the
	// read-only /usr) is Start's error, with bwrap's message.
	_, err := d.Start(ctx, Spec{Name: testName(t), Command: []string{"true"}, Mounts: []Mount{{HostPath: hostDir(t), SandboxPath: "/usr/no-such-dir"}}})
	if err == nil || !strings.Contains(err.Error(), "bwrap") || !strings.Contains(err.Error(), "/usr/no-such-dir") {
		t.Errorf("bwrap setup failure: %v", err)
	} else {
		t.Logf("bwrap setup failure: %v", err)
	}
	// A name is used once at a time.
	s := start(t, d, Spec{Command: []string{"sleep", "1000"}})
	if sb, err := d.Start(ctx, Spec{Name: s.Name(), Command: []string{"true"}}); err == nil {
		_ = sb.Stop(0)
		t.Errorf("a second sandbox with the same name started")
	}
}

func TestResolveMountSource(t *testing.T) {
	dir := hostDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Root's symlinks are followed, relative and absolute.
	if err := os.Symlink("a/b", filepath.Join(dir, "rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "abs")); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		filepath.Join(dir, "rel"):      filepath.Join(dir, "a", "b"),
		filepath.Join(dir, "abs", "b"): filepath.Join(dir, "a", "b"),
		dir + "/rel/../b":              filepath.Join(dir, "a", "b"),
		dir + "/a/./b/":                filepath.Join(dir, "a", "b"),
	} {
		got, err := resolveMountSource(in)
		if err != nil || got != want {
			t.Errorf("resolveMountSource(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestCleanup(t *testing.T) {
	t.Parallel()
	root := testCgroupRoot + "-cleanup"
	old := newTestDriver(t, root) // the "crashed" server

	// Stray sandboxes, forgotten (no Stop) as after a crash. The networked
	// one also leaves a slirp4netns.
	stray := start(t, old, Spec{Name: "stray", Network: true, Command: []string{"sh", "-c", "sleep 1000 & sleep 1000"}})
	kept := start(t, old, Spec{Name: "kept", Command: []string{"sleep", "1000"}})
	time.Sleep(100 * time.Millisecond)
	strayPids, _ := cgroupProcs(stray.dirs)
	keptPids, _ := cgroupProcs(kept.dirs)
	if len(strayPids) < 4 || len(keptPids) < 2 || !slices.Contains(strayPids, stray.slirp.pid()) {
		t.Fatalf("stray pids %v (slirp4netns %d), kept pids %v", strayPids, stray.slirp.pid(), keptPids)
	}

	d := newTestDriver(t, root) // the new server
	mine := start(t, d, Spec{Name: "mine", Command: []string{"sleep", "1000"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var asked []string
	err := d.Cleanup(ctx, func(name string) bool {
		asked = append(asked, name)
		return name == "kept"
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(asked)
	if !slices.Equal(asked, []string{"kept", "stray"}) {
		t.Errorf("keep was asked about %v, want kept and stray (not this driver's own)", asked)
	}
	for _, pid := range strayPids {
		if alive(pid, 2*time.Second) {
			t.Errorf("stray pid %d survived Cleanup", pid)
		}
	}
	for _, dir := range stray.dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stray cgroup %s survived Cleanup", dir)
		}
	}
	for _, pid := range keptPids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			t.Errorf("kept pid %d did not survive Cleanup", pid)
		}
	}
	if mine.isDone() {
		t.Errorf("Cleanup killed its own driver's sandbox")
	}
	waitDone(t, stray, 10*time.Second)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	broken, err := NewLocal(LocalOptions{CgroupRoot: testCgroupRoot, BwrapPath: "/nonexistent/bwrap"})
	if err != nil {
		t.Fatal(err)
	}
	if err := broken.Check(ctx); err == nil || !strings.Contains(err.Error(), "bubblewrap") {
		t.Errorf("Check without bwrap: %v", err)
	}
	noSlirp, err := NewLocal(LocalOptions{CgroupRoot: testCgroupRoot, SlirpPath: "/nonexistent/slirp4netns"})
	if err != nil {
		t.Fatal(err)
	}
	if err := noSlirp.Check(ctx); err == nil || !strings.Contains(err.Error(), "slirp4netns") {
		t.Errorf("Check without slirp4netns: %v", err)
	}
}

// BenchmarkDial measures one DialContext into a sandbox plus the close.
// "sandbox" dials a Go acceptor listening on the sandbox's loopback (its
// socket made in the sandbox's namespace), "host" the same acceptor on the
// host's loopback with a plain net.Dialer, so the difference is the cost
// of DialContext itself; "node" dials a node HTTP server in the sandbox,
// as the router will.
func BenchmarkDial(b *testing.B) {
	d := testDriver(b)
	s := start(b, d, Spec{Command: []string{"sleep", "1000"}})
	ctx := context.Background()
	dialLoop := func(b *testing.B, dial func(context.Context, string, string) (net.Conn, error), addr string) {
		for b.Loop() {
			c, err := dial(ctx, "tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	}

	b.Run("sandbox", func(b *testing.B) {
		fd, err := socketIn(s.netns, d.hostNS, syscall.AF_INET)
		if err != nil {
			b.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Listen(fd, 128); err != nil {
			b.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), "listener")
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go acceptAll(l)
		dialLoop(b, s.DialContext, l.Addr().String())
	})
	b.Run("host", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go acceptAll(l)
		var dialer net.Dialer
		dialLoop(b, dialer.DialContext, l.Addr().String())
	})
	b.Run("node", func(b *testing.B) {
		port := freePort(b)
		app := startHTTP(b, d, "127.0.0.1", port)
		dialLoop(b, app.DialContext, fmt.Sprintf("127.0.0.1:%d", port))
	})
}

// alive reports whether pid still runs after waiting up to wait for it to
// go. A killed process whose parent (this test process, for bwrap and
// slirp4netns) has not reaped it yet is a zombie: dead, though /proc still
// lists it.
func alive(pid int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		// The state follows the parenthesised command name.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
}
