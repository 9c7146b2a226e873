package sandbox

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Prepare implements Preparer: bwrap is started and left blocked on its
// --block-fd, as Start leaves it just before the command runs. While it
// waits, the sandbox holds bwrap's two processes, its cgroup and, with
// network, slirp4netns (a few MiB in all).
func (l *Local) Prepare(ctx context.Context, spec Spec) (Prepared, error) {
	spec.Stdout, spec.Stderr = nil, nil
	a, err := l.reserveAndPrepare(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &localPrepared{l: l, a: a}, nil
}

// localPrepared is a prepared sandbox of the local driver.
type localPrepared struct {
	l    *Local
	a    *startAttempt
	once sync.Once
}

func (p *localPrepared) Name() string { return p.a.name }

func (p *localPrepared) Start(stdout, stderr io.Writer) (sb Sandbox, err error) {
	err = errPreparedUsed
	p.once.Do(func() {
		p.a.s.stdout.set(stdout)
		p.a.s.stderr.w.set(stderr)
		sb, err = p.l.run(p.a)
	})
	return sb, err
}

func (p *localPrepared) Discard() {
	p.once.Do(func() {
		p.a.undo()
		p.l.release(p.a.name)
	})
}

// errPreparedUsed: Start or Discard was called before.
var errPreparedUsed = errors.New("sandbox: the prepared sandbox was already started or discarded")
