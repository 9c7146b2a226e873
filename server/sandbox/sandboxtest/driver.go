// Package sandboxtest is a sandbox.Driver that runs no process: each
// sandbox does what the test's Behave function says (serve HTTP, exit
// with a code after a while, be OOM-killed), so the orchestrator's
// lifecycle can be tested fast, without root or bubblewrap.
package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"time"

	"github.com/coderunner/coderunner/server/sandbox"
)

// Behaviour is what one sandbox does.
type Behaviour struct {
	// Serves: the sandbox accepts connections and answers every request
	// 200 with its name.
	Serves bool
	// ExitAfter, when positive, ends the sandbox on its own after this
	// long with Exit. Zero with Serves false ends it at once.
	ExitAfter time.Duration
	Exit      sandbox.ExitStatus
	// Output is written to the spec's Stdout as the sandbox starts.
	Output string
}

// Driver implements sandbox.Driver.
type Driver struct {
	// Behave decides what a sandbox started with spec does. Nil: every
	// sandbox serves.
	Behave func(spec sandbox.Spec) Behaviour
	// StartError, when it returns non-nil, fails the Start of spec.
	StartError func(spec sandbox.Spec) error

	mu      sync.Mutex
	started []sandbox.Spec
	live    map[string]*Sandbox
	// prepared holds the names of prepared sandboxes not yet started or
	// discarded (prepare.go).
	prepared                map[string]bool
	preparedSpecs           []sandbox.Spec
	fromPrepared, discarded []string
}

var _ sandbox.Driver = (*Driver)(nil)

// Name implements sandbox.Driver.
func (d *Driver) Name() string { return "sandboxtest" }

// Check implements sandbox.Driver: the fake is always usable.
func (d *Driver) Check(context.Context) error { return nil }

// Close implements sandbox.Driver.
func (d *Driver) Close() error { return nil }

// Cleanup implements sandbox.Driver: it ends every live sandbox keep
// rejects.
func (d *Driver) Cleanup(_ context.Context, keep func(string) bool) error {
	d.mu.Lock()
	var stray []*Sandbox
	for name, sb := range d.live {
		if !keep(name) {
			stray = append(stray, sb)
		}
	}
	d.mu.Unlock()
	for _, sb := range stray {
		_ = sb.Stop(0)
	}
	return nil
}

// Start implements sandbox.Driver.
func (d *Driver) Start(_ context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	if d.StartError != nil {
		if err := d.StartError(spec); err != nil {
			return nil, err
		}
	}
	b := Behaviour{Serves: true}
	if d.Behave != nil {
		b = d.Behave(spec)
	}
	sb := &Sandbox{name: spec.Name, done: make(chan struct{}), driver: d}
	d.mu.Lock()
	if d.live == nil {
		d.live = map[string]*Sandbox{}
	}
	if _, taken := d.live[spec.Name]; taken {
		d.mu.Unlock()
		return nil, fmt.Errorf("sandboxtest: a sandbox named %s runs already", spec.Name)
	}
	d.live[spec.Name] = sb
	d.started = append(d.started, spec)
	d.mu.Unlock()

	if b.Output != "" && spec.Stdout != nil {
		_, _ = io.WriteString(spec.Stdout, b.Output)
	}
	if b.Serves {
		name := spec.Name
		sb.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, name)
		}))
	}
	switch {
	case b.ExitAfter > 0:
		time.AfterFunc(b.ExitAfter, func() { sb.end(b.Exit) })
	case !b.Serves:
		sb.end(b.Exit)
	}
	return sb, nil
}

// Started returns the specs of every sandbox started so far, in order.
func (d *Driver) Started() []sandbox.Spec {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sandbox.Spec(nil), d.started...)
}

// Live returns the names of the sandboxes that have not ended.
func (d *Driver) Live() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for name := range d.live {
		names = append(names, name)
	}
	return names
}

// Sandbox implements sandbox.Sandbox.
type Sandbox struct {
	name   string
	driver *Driver
	server *httptest.Server // nil unless it serves

	once   sync.Once
	done   chan struct{}
	status sandbox.ExitStatus
}

// end ends the sandbox with status, once.
func (s *Sandbox) end(status sandbox.ExitStatus) {
	s.once.Do(func() {
		if s.server != nil {
			s.server.CloseClientConnections()
			s.server.Close()
		}
		s.status = status
		s.driver.mu.Lock()
		delete(s.driver.live, s.name)
		s.driver.mu.Unlock()
		close(s.done)
	})
}

// Name implements sandbox.Sandbox.
func (s *Sandbox) Name() string { return s.name }

// Done implements sandbox.Sandbox.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Status implements sandbox.Sandbox.
func (s *Sandbox) Status() sandbox.ExitStatus { return s.status }

// Stats implements sandbox.Sandbox: a fake uses nothing.
func (s *Sandbox) Stats() (sandbox.Stats, error) { return sandbox.Stats{}, nil }

// Stop implements sandbox.Sandbox: it ends the sandbox as SIGTERM would.
func (s *Sandbox) Stop(time.Duration) error {
	s.end(sandbox.ExitStatus{Code: -1, Signal: syscall.SIGTERM})
	return nil
}

// Signal implements sandbox.Sandbox: SIGTERM and SIGKILL end the
// sandbox, other signals do nothing.
func (s *Sandbox) Signal(sig syscall.Signal) error {
	if sig == syscall.SIGTERM || sig == syscall.SIGKILL {
		s.end(sandbox.ExitStatus{Code: -1, Signal: sig})
	}
	return nil
}

// DialContext reaches the sandbox's server whatever the address: the app
// listens on one port only.
func (s *Sandbox) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	select {
	case <-s.done:
		return nil, errors.New("sandboxtest: connection refused (the sandbox has ended)")
	default:
	}
	if s.server == nil {
		return nil, errors.New("sandboxtest: connection refused (nothing listens)")
	}
	var dialer net.Dialer
	return dialer.DialContext(ctx, network, s.server.Listener.Addr().String())
}
