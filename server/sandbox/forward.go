package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Forwards: a TCP service on the sandbox's own 127.0.0.1 (an app's
// database at 127.0.0.1:5432) that the platform carries to a destination
// of its choosing. The listening socket is created inside the sandbox's
// network namespace (as a dial's is, see netns_dial.go) before the
// sandbox's command is unblocked, so an app that connects on its first
// line finds it; accepting and copying run on ordinary goroutines in the
// host's namespace, where Dial reaches the destination. The egress filter
// is untouched: the sandbox still cannot reach the host itself.

// Forward is a TCP port on the sandbox's 127.0.0.1 whose connections the
// platform carries to a destination of its choosing: Dial is called once
// per accepted connection, from the host's network namespace.
type Forward struct {
	Port int
	Dial func(ctx context.Context) (net.Conn, error)
}

const (
	// forwardDialTimeout bounds reaching the destination of one connection.
	forwardDialTimeout = 10 * time.Second
	// forwardMaxConns caps the connections one forward carries at once.
	forwardMaxConns = 256
)

// checkForwards refuses forwards that cannot all be served.
func checkForwards(forwards []Forward) error {
	seen := map[int]bool{}
	for _, f := range forwards {
		switch {
		case f.Port < 1 || f.Port > 65535:
			return fmt.Errorf("forward port %d is not a TCP port", f.Port)
		case seen[f.Port]:
			return fmt.Errorf("forward port %d is given twice", f.Port)
		case f.Dial == nil:
			return fmt.Errorf("forward port %d has nothing to dial", f.Port)
		}
		seen[f.Port] = true
	}
	return nil
}

// forwarder serves a sandbox's forwards until close.
type forwarder struct {
	log       *slog.Logger
	ctx       context.Context
	cancel    context.CancelFunc
	listeners []net.Listener
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// openForwards listens on each forward's port inside the network
// namespace netns (home is the host's) and starts serving them.
func openForwards(netns, home *os.File, forwards []Forward, log *slog.Logger) (*forwarder, error) {
	ctx, cancel := context.WithCancel(context.Background())
	fw := &forwarder{log: log, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	for _, f := range forwards {
		ln, err := listenIn(netns, home, f.Port)
		if err != nil {
			fw.close()
			return nil, fmt.Errorf("forward port %d: %w", f.Port, err)
		}
		fw.listeners = append(fw.listeners, ln)
	}
	for i, f := range forwards {
		fw.wg.Add(1)
		go fw.serve(fw.listeners[i], f)
	}
	return fw, nil
}

// listenIn listens on 127.0.0.1:port inside netns.
func listenIn(netns, home *os.File, port int) (net.Listener, error) {
	fd, err := socketIn(netns, home, syscall.AF_INET)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "sandbox-listen")
	defer func() { _ = f.Close() }()
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	if err := syscall.Listen(fd, 128); err != nil {
		return nil, os.NewSyscallError("listen", err)
	}
	return net.FileListener(f) // dups the fd; f's copy is closed above
}

// serve accepts on ln until it is closed, carrying each connection to
// f.Dial's destination; past forwardMaxConns at once, new ones wait.
func (fw *forwarder) serve(ln net.Listener, f Forward) {
	defer fw.wg.Done()
	slots := make(chan struct{}, forwardMaxConns)
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed
		}
		select {
		case slots <- struct{}{}:
		case <-fw.ctx.Done():
			_ = conn.Close()
			return
		}
		fw.wg.Add(1)
		go func() {
			defer fw.wg.Done()
			defer func() { <-slots }()
			fw.carry(conn, f)
		}()
	}
}

// carry copies between the sandbox's connection and one to the
// destination, each direction closed for writing when the other side
// closes its own, until both are done.
func (fw *forwarder) carry(inside net.Conn, f Forward) {
	if !fw.track(inside) {
		return
	}
	defer fw.untrack(inside)
	ctx, cancel := context.WithTimeout(fw.ctx, forwardDialTimeout)
	outside, err := f.Dial(ctx)
	cancel()
	if err != nil {
		fw.log.Warn("sandbox: forward cannot reach its destination", "port", f.Port, "error", err)
		return
	}
	if !fw.track(outside) {
		return
	}
	defer fw.untrack(outside)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(outside, inside)
	}()
	pipe(inside, outside)
	<-done
}

// pipe copies from src to dst, then closes dst for writing (the peer sees
// the end of what src sent) or, if it cannot half-close, entirely.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if hc, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
		return
	}
	_ = dst.Close()
}

// track registers c to be closed by close; false (c closed) once closing.
func (fw *forwarder) track(c net.Conn) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.ctx.Err() != nil {
		_ = c.Close()
		return false
	}
	fw.conns[c] = struct{}{}
	return true
}

func (fw *forwarder) untrack(c net.Conn) {
	fw.mu.Lock()
	delete(fw.conns, c)
	fw.mu.Unlock()
	_ = c.Close()
}

// close stops accepting, closes every open connection and waits until
// every goroutine of the forwarder has returned.
func (fw *forwarder) close() {
	fw.mu.Lock()
	fw.cancel()
	for c := range fw.conns {
		_ = c.Close()
	}
	fw.mu.Unlock()
	for _, ln := range fw.listeners {
		_ = ln.Close()
	}
	fw.wg.Wait()
}
