package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dialing into a sandbox. A sandbox has its own network namespace, so an
// app listening on its 127.0.0.1:3000 cannot be reached from the host's
// network at all. The router reaches it with a socket created inside that
// namespace: a socket belongs to the namespace it was created in for its
// whole life, whichever thread later uses it. So only socket(2) has to run
// in the sandbox's namespace; connect and all I/O happen on ordinary Go
// threads through the netpoller, like any other connection.
//
// setns(2) switches the namespace of the calling OS thread only. The
// goroutine locks itself to its thread, switches in, creates the socket,
// switches back and unlocks. If switching back fails, the goroutine exits
// still locked, and the Go runtime then terminates the thread rather than
// reuse one that sits in a sandbox's namespace (a later socket on it would
// silently be created inside the sandbox).

// setns moves the calling thread into the network namespace fd refers to.
func setns(fd uintptr) error {
	return unix.Setns(int(fd), unix.CLONE_NEWNET)
}

// ownerUserns returns the user namespace that owns the namespace nsFile
// refers to (slirp4netns must join it to configure the network namespace).
func ownerUserns(nsFile *os.File) (*os.File, error) {
	fd, err := unix.IoctlRetInt(int(nsFile.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		return nil, fmt.Errorf("NS_GET_USERNS: %w", err)
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "userns"), nil
}

// socketIn creates a non-blocking TCP socket inside the network namespace
// netns; home is the namespace to return the thread to.
func socketIn(netns, home *os.File, family int) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := setns(netns.Fd()); err != nil {
			// Still in the host namespace: the thread is fine.
			runtime.UnlockOSThread()
			ch <- result{-1, fmt.Errorf("entering the sandbox's network namespace: %w", err)}
			return
		}
		fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if nerr := setns(home.Fd()); nerr != nil {
			// Leave the thread locked: it dies with this goroutine.
			if err == nil {
				_ = syscall.Close(fd)
			}
			ch <- result{-1, fmt.Errorf("returning to the host's network namespace: %w", nerr)}
			return
		}
		runtime.UnlockOSThread()
		if err != nil {
			err = os.NewSyscallError("socket", err)
		}
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// dialIn connects to address ("ip:port"; "localhost" means 127.0.0.1)
// from inside the network namespace netns.
func dialIn(ctx context.Context, netns, home *os.File, network, address string) (net.Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: nil, Err: fmt.Errorf("%s in sandbox: %w", address, err)}
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, opErr(err)
	}
	// Names are not resolved: the sandbox's resolver is not the host's, and
	// resolving on the host would be a different answer. The router dials
	// IP literals.
	if host == "localhost" || host == "" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, opErr(fmt.Errorf("host must be an IP address or localhost: %w", err))
	}
	portNum, err := net.LookupPort(network, port)
	if err != nil {
		return nil, opErr(err)
	}
	var (
		family int
		sa     syscall.Sockaddr
	)
	ip = ip.Unmap()
	switch {
	case network != "tcp" && network != "tcp4" && network != "tcp6":
		return nil, opErr(fmt.Errorf("network %q is not supported (only tcp)", network))
	case ip.Is4() && network != "tcp6":
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: portNum, Addr: ip.As4()}
	case ip.Is6() && network != "tcp4":
		family, sa = syscall.AF_INET6, &syscall.SockaddrInet6{Port: portNum, Addr: ip.As16()}
	default:
		return nil, opErr(fmt.Errorf("address family does not match %q", network))
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}

	fd, err := socketIn(netns, home, family)
	if err != nil {
		return nil, opErr(err)
	}
	// From here on the socket is an ordinary non-blocking fd. os.NewFile
	// registers it with the netpoller, so waiting for the connect honours
	// deadlines (and thus ctx) without blocking a thread.
	f := os.NewFile(uintptr(fd), "sandbox-dial")
	defer func() { _ = f.Close() }()
	if err := connect(ctx, f, fd, sa); err != nil {
		return nil, opErr(err)
	}
	conn, err := net.FileConn(f) // dups the fd; f's copy is closed above
	if err != nil {
		return nil, opErr(err)
	}
	return conn, nil
}

// connect runs a non-blocking connect(2) on fd (owned by f) and waits for
// it to finish or for ctx to end.
func connect(ctx context.Context, f *os.File, fd int, sa syscall.Sockaddr) error {
	err := syscall.Connect(fd, sa)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EINPROGRESS), errors.Is(err, syscall.EINTR), errors.Is(err, syscall.EALREADY):
	default:
		return os.NewSyscallError("connect", err)
	}
	if d, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(d); err != nil {
			return err
		}
	}
	// A cancelled ctx moves the deadline into the past, which wakes the wait.
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var connErr error
	werr := rc.Write(func(fd uintptr) bool {
		// Called once right away (not yet connected: wait) and again each
		// time the socket becomes writable.
		soErr, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil {
			connErr = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := syscall.Errno(soErr); e {
		case 0:
			// Writable with no error can be spurious; connected means the
			// peer has a name.
			if _, err := syscall.Getpeername(int(fd)); err == nil {
				connErr = nil
				return true
			}
			return false
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			return false
		default:
			connErr = os.NewSyscallError("connect", e)
			return true
		}
	})
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return werr
	}
	return connErr
}
