package router

import "sync"

// bufferPool lends ReverseProxy its response copy buffers. Without one,
// ReverseProxy allocates (and zeroes) a fresh 32 KiB buffer for every
// proxied response; at thousands of requests a second that garbage alone
// kept the collector busy and showed up in the tail latency.
type bufferPool struct{ pool sync.Pool }

// copyBufferSize matches ReverseProxy's own default.
const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		b := make([]byte, copyBufferSize)
		return &b
	}}}
}

// Get implements httputil.BufferPool.
func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

// Put implements httputil.BufferPool. Only full-size buffers come back, so
// a caller that resliced one cannot shrink the pool's buffers.
func (p *bufferPool) Put(b []byte) {
	if cap(b) < copyBufferSize {
		return
	}
	b = b[:copyBufferSize]
	p.pool.Put(&b)
}
