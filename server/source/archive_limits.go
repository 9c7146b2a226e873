package source

import (
	"errors"
	"io"
	"slices"
)

// entryOverhead is the average room allowed per archive entry for headers
// and padding when capping an archive's decompressed size.
const entryOverhead = 4 << 10

// errExpanded is returned by budgetReader once the decompressed archive
// exceeds its cap.
var errExpanded = errors.New("source: archive expands beyond its cap")

// budgetReader fails with errExpanded once more than left bytes were read.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errExpanded
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (c *collector) tooManyEntries() error {
	return invalid("the archive has more entries (files, directories and links) than the limit of %d", c.maxEntries)
}

func (c *collector) countEntry() error {
	c.nEntries++
	if c.nEntries > c.maxEntries {
		return c.tooManyEntries()
	}
	return nil
}

func (c *collector) countFile() error {
	c.nFiles++
	if c.nFiles > c.lim.MaxFiles {
		return invalid("the archive has more files than the limit of %d", c.lim.MaxFiles)
	}
	return nil
}

func (c *collector) totalTooBig() error {
	return invalid("the archive's files add up to more than the %s limit for a source", sizeString(c.lim.MaxTotalBytes))
}

// readContent reads one file's content through a limit, never trusting
// hint (the size its header declares) beyond preallocating.
func (c *collector) readContent(name string, r io.Reader, hint int64) ([]byte, error) {
	allowed := min(c.lim.MaxFileBytes, c.lim.MaxTotalBytes-c.total)
	// One byte more than allowed tells a file that is too big; the
	// preallocation is exact for an honest header.
	limit := allowed + 1
	buf := make([]byte, 0, max(0, min(hint, allowed))+1)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if n := int64(len(buf)); n > allowed {
		if n > c.lim.MaxFileBytes {
			return nil, invalid("%s is larger than the %s limit per file", quote(name), sizeString(c.lim.MaxFileBytes))
		}
		return nil, c.totalTooBig()
	}
	if cap(buf)-len(buf) > len(buf)/8+512 {
		buf = slices.Clip(slices.Clone(buf))
	}
	c.total += int64(len(buf))
	return buf, nil
}
