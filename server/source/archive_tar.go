package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/coderunner/coderunner/server/errs"
)

// readGzip reads a gzip'd tar archive.
func (c *collector) readGzip(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return invalid("the archive is not valid gzip data (%v)", err)
	}
	return c.readTar(zr, true)
}

// streamErr turns an error reading a tar stream into a message.
func (c *collector) streamErr(name string, err error, gz bool) error {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, errExpanded):
		return invalid("the archive expands to more than %s; the limit is %s of files plus headers", sizeString(c.budget), sizeString(c.lim.MaxTotalBytes))
	case errors.Is(err, tar.ErrHeader) && gz && c.nEntries == 0:
		return invalid("the gzip data is not a tar archive; %s", acceptedFormats)
	case errors.Is(err, io.ErrUnexpectedEOF) && name == "":
		return invalid("the archive is truncated")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("the archive is truncated in the middle of %s", quote(name))
	case name == "":
		return invalid("the archive is corrupt (%v)", err)
	default:
		return invalid("the archive is corrupt in %s (%v)", quote(name), err)
	}
}

// readTar reads a tar stream through the archive's budget; gz says it came
// out of gzip, where a bad first header means "not a tar" rather than corrupt.
func (c *collector) readTar(r io.Reader, gz bool) error {
	tr := tar.NewReader(&budgetReader{r: r, left: c.budget})
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // we check paths ourselves
			return c.streamErr("", err, gz)
		}
		if err := c.countEntry(); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := hdr.Name
		p, skip, err := normalise(name, hdr.Typeflag == tar.TypeDir)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			c.dir(p)
		case tar.TypeReg, tar.TypeGNUSparse:
			if err := c.countFile(); err != nil {
				return err
			}
			content, err := c.readContent(name, tr, hdr.Size)
			if err != nil {
				return c.streamErr(name, err, gz)
			}
			c.addFile(p, content, hdr.Mode&0o100 != 0)
		case tar.TypeLink:
			if err := c.link(name, p, hdr.Linkname); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := c.symlink(name, p, hdr.Linkname); err != nil {
				return err
			}
		default:
			return invalid("%s is %s; only regular files, directories and links are accepted", quote(name), tarTypeName(hdr.Typeflag))
		}
	}
}

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "a character device"
	case tar.TypeBlock:
		return "a block device"
	case tar.TypeFifo:
		return "a FIFO (named pipe)"
	default:
		return fmt.Sprintf("an entry of unsupported type %q", t)
	}
}
