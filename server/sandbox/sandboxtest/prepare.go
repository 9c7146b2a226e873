package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/coderunner/coderunner/server/sandbox"
)

var _ sandbox.Preparer = (*Driver)(nil)

// Prepare implements sandbox.Preparer: the name is taken at once; the
// sandbox starts (as Start would start it) when Prepared.Start is called.
func (d *Driver) Prepare(ctx context.Context, spec sandbox.Spec) (sandbox.Prepared, error) {
	if d.StartError != nil {
		if err := d.StartError(spec); err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prepared == nil {
		d.prepared = map[string]bool{}
	}
	if _, taken := d.live[spec.Name]; taken || d.prepared[spec.Name] {
		return nil, fmt.Errorf("sandboxtest: a sandbox named %s runs already", spec.Name)
	}
	d.prepared[spec.Name] = true
	d.preparedSpecs = append(d.preparedSpecs, spec)
	return &prepared{d: d, ctx: context.WithoutCancel(ctx), spec: spec}, nil
}

type prepared struct {
	d    *Driver
	ctx  context.Context
	spec sandbox.Spec
	once sync.Once
}

func (p *prepared) Name() string { return p.spec.Name }

func (p *prepared) Start(stdout, stderr io.Writer) (sb sandbox.Sandbox, err error) {
	err = errors.New("sandboxtest: the prepared sandbox was already started or discarded")
	p.once.Do(func() {
		p.d.unprepare(p.spec.Name, "")
		spec := p.spec
		spec.Stdout, spec.Stderr = stdout, stderr
		if sb, err = p.d.Start(p.ctx, spec); err == nil {
			p.d.mu.Lock()
			p.d.fromPrepared = append(p.d.fromPrepared, spec.Name)
			p.d.mu.Unlock()
		}
	})
	return sb, err
}

func (p *prepared) Discard() {
	p.once.Do(func() { p.d.unprepare(p.spec.Name, p.spec.Name) })
}

// unprepare frees a prepared name; discarded, when not empty, is recorded
// as such.
func (d *Driver) unprepare(name, discarded string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.prepared, name)
	if discarded != "" {
		d.discarded = append(d.discarded, discarded)
	}
}

// Prepared returns the specs of every sandbox prepared so far, in order.
func (d *Driver) Prepared() []sandbox.Spec {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sandbox.Spec(nil), d.preparedSpecs...)
}

// Waiting returns the names of the prepared sandboxes neither started nor
// discarded.
func (d *Driver) Waiting() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for name := range d.prepared {
		names = append(names, name)
	}
	return names
}

// FromPrepared names the prepared sandboxes that were started.
func (d *Driver) FromPrepared() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.fromPrepared...)
}

// Discarded names the prepared sandboxes that were discarded.
func (d *Driver) Discarded() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.discarded...)
}
