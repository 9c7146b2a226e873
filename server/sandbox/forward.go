package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Forwards. A sandbox's 127.0.0.1 is its own loopback, so a service the
// platform runs for an app (its database, say) cannot simply listen on the
// host's: the egress filter and slirp4netns keep the host's loopback out
// of reach, as they must. Instead the driver listens on the sandbox's
// 127.0.0.1:Port with a socket created in the sandbox's network namespace
// (as dialIn does, netns_dial.go) and carries each accepted connection to
// whatever Forward.Dial returns, from the host's namespace. The app's
// packets never leave its loopback, so the egress filter (which accepts
// everything on lo) is neither involved nor weakened.
//
// The listeners are opened before bwrap is unblocked, so they exist before
// the command's first instruction; connections that arrive before the
// accept goroutines run wait in the listen backlog.

const (
	// forwardDialTimeout bounds one Forward.Dial.
	forwardDialTimeout = 10 * time.Second
	// forwardMaxConns caps the connections one forward carries at once;
	// beyond it new ones wait in the listen backlog (and, once that is
	// full, the app's connect times out), so a looping app cannot make the
	// server open unbounded connections to the destination.
	forwardMaxConns = 256
	// forwardBacklog is listen(2)'s backlog.
	forwardBacklog = 128
)

// Forward is a TCP port on the sandbox's 127.0.0.1 whose connections the
// platform carries to a destination of its choosing: Dial is called once per
// accepted connection, from the host's network namespace.
type Forward struct {
	Port int
	Dial func(ctx context.Context) (net.Conn, error)
}

// validForwards checks Spec.Forwards.
func validForwards(fwds []Forward) error {
	seen := map[int]bool{}
	for _, f := range fwds {
		if f.Port < 1 || f.Port > 65535 {
			return fmt.Errorf("sandbox: forward port %d is not in 1..65535", f.Port)
		}
		if seen[f.Port] {
			return fmt.Errorf("sandbox: forward port %d is given twice", f.Port)
		}
		seen[f.Port] = true
		if f.Dial == nil {
			return fmt.Errorf("sandbox: forward port %d has no Dial", f.Port)
		}
	}
	return nil
}

// forwarder carries one sandbox's forwards. Its goroutines (one accepting
// per listener, two per carried connection) are all counted in wg; close
// stops them and waits for them, so none outlives the sandbox.
type forwarder struct {
	name string
	log  *slog.Logger
	// ctx ends with close: it aborts Dials in progress and stops the
	// accept loops waiting for a free slot.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     map[net.Conn]struct{} // both ends of every carried connection
}

// openForwards listens on 127.0.0.1:Port inside the network namespace
// netns for each forward and starts accepting. On error nothing is left
// open. With no forwards it returns nil (close is nil-safe).
func openForwards(name string, log *slog.Logger, netns, home *os.File, fwds []Forward) (*forwarder, error) {
	if len(fwds) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &forwarder{name: name, log: log, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	for _, fw := range fwds {
		l, err := listenIn(netns, home, fw.Port)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("forward: listening on the sandbox's 127.0.0.1:%d: %w", fw.Port, err)
		}
		f.listeners = append(f.listeners, l)
		f.wg.Add(1)
		go f.accept(l, fw)
	}
	return f, nil
}

// listenIn opens a TCP listener on 127.0.0.1:port inside netns. Only
// socket(2) needs the namespace; bind, listen and accept work on the fd
// from any thread.
func listenIn(netns, home *os.File, port int) (net.Listener, error) {
	fd, err := socketIn(netns, home, syscall.AF_INET)
	if err != nil {
		return nil, err
	}
	file := os.NewFile(uintptr(fd), "sandbox-forward")
	defer func() { _ = file.Close() }() // FileListener holds its own dup
	// bwrap has brought the namespace's loopback up by the time it blocks
	// (waitBlocked), so 127.0.0.1 exists; otherwise this is EADDRNOTAVAIL.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	if err := syscall.Listen(fd, forwardBacklog); err != nil {
		return nil, os.NewSyscallError("listen", err)
	}
	return net.FileListener(file)
}

// accept runs until the listener is closed, carrying each connection.
func (f *forwarder) accept(l net.Listener, fw Forward) {
	defer f.wg.Done()
	slots := make(chan struct{}, forwardMaxConns)
	acceptBackoff := 5 * time.Millisecond
	for {
		select {
		case slots <- struct{}{}:
		case <-f.ctx.Done():
			return
		}
		c, err := l.Accept()
		if err != nil {
			<-slots
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, most likely: the connection waits in
			// the backlog, and giving up would strand it and every later one.
			f.log.Warn("sandbox: forward: accepting", "sandbox", f.name, "port", fw.Port, "err", err)
			select {
			case <-time.After(acceptBackoff):
				acceptBackoff = min(2*acceptBackoff, time.Second)
				continue
			case <-f.ctx.Done():
				return
			}
		}
		acceptBackoff = 5 * time.Millisecond
		if !f.track(c) {
			_ = c.Close()
			return
		}
		f.wg.Add(1)
		go func() {
			defer func() { <-slots }()
			defer f.wg.Done()
			f.carry(c, fw)
		}()
	}
}

// track registers c so that close closes it; it reports false (and does
// not register) once close has begun.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	_ = c.Close()
}

// carry dials the destination for the accepted connection down and copies
// both ways until both directions have ended.
func (f *forwarder) carry(down net.Conn, fw Forward) {
	defer f.untrack(down)
	ctx, cancel := context.WithTimeout(f.ctx, forwardDialTimeout)
	up, err := fw.Dial(ctx)
	cancel()
	if err != nil {
		if f.ctx.Err() == nil {
			f.log.Warn("sandbox: forward: dialing the destination", "sandbox", f.name, "port", fw.Port, "err", err)
		}
		return
	}
	if !f.track(up) {
		_ = up.Close()
		return
	}
	defer f.untrack(up)
	// Both directions must end before the deferred closes: one may go on
	// long after the other has been half-closed.
	upDone := make(chan struct{})
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(upDone)
		pipe(up, down)
	}()
	pipe(down, up)
	<-upDone
}

// pipe copies src to dst. At src's EOF it half-closes dst, so a protocol
// that shuts down one direction and then reads the answer works through
// the forward; the connections are closed once both directions are done
// (carry). On an error both are closed, which also ends the other
// direction. A destination conn without CloseWrite (not TCP or a Unix
// socket) does not learn of the app's half-close.
func pipe(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		_ = src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// close stops accepting, aborts Dials in progress, closes every carried
// connection and waits for all the forwarder's goroutines to end.
func (f *forwarder) close() {
	if f == nil {
		return
	}
	f.cancel()
	f.mu.Lock()
	f.closed = true
	for _, l := range f.listeners {
		_ = l.Close()
	}
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
