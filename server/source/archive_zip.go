package source

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
)

// readZip reads a zip archive's entries in central-directory order.
func (c *collector) readZip(data []byte) error {
	// zip.NewReader parses the whole central directory up front; every
	// record starts with this signature, so counting it bounds that work
	// before it is done.
	if bytes.Count(data, []byte("PK\x01\x02")) > 16*c.maxEntries {
		return c.tooManyEntries()
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // we check paths ourselves
		return invalid("the archive is not a valid zip file (%v)", err)
	}
	if len(zr.File) > c.maxEntries {
		return c.tooManyEntries()
	}
	for _, f := range zr.File {
		if err := c.readZipFile(f); err != nil {
			return err
		}
	}
	return nil
}

// readZipFile records one zip entry: a directory, a symlink or a regular
// file.
func (c *collector) readZipFile(f *zip.File) error {
	if err := c.countEntry(); err != nil {
		return err
	}
	name := f.Name
	mode := f.Mode()
	isDir := mode.IsDir() || strings.HasSuffix(name, "/")
	p, skip, err := normalise(name, isDir)
	if err != nil {
		return err
	}
	if skip {
		return nil
	}
	if isDir {
		c.dir(p)
		return nil
	}
	if f.Flags&0x1 != 0 {
		return invalid("%s is encrypted; encrypted zip archives are not supported", quote(name))
	}
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := c.readZipEntry(f, func(r io.Reader) ([]byte, error) {
			b, err := io.ReadAll(io.LimitReader(r, maxLinkTarget+1))
			if err == nil && len(b) > maxLinkTarget {
				return nil, invalid("%s is a symlink whose target is longer than %d bytes", quote(name), maxLinkTarget)
			}
			return b, err
		})
		if err != nil {
			return err
		}
		return c.symlink(name, p, string(target))
	case mode.IsRegular():
		if err := c.countFile(); err != nil {
			return err
		}
		hint := int64(min(f.UncompressedSize64, math.MaxInt64))
		content, err := c.readZipEntry(f, func(r io.Reader) ([]byte, error) { return c.readContent(name, r, hint) })
		if err != nil {
			return err
		}
		c.addFile(p, content, mode&0o100 != 0)
		return nil
	default:
		return invalid("%s is %s; only regular files, directories and links are accepted", quote(name), zipTypeName(mode))
	}
}

// readZipEntry opens f and reads it with read, turning errors into messages.
func (c *collector) readZipEntry(f *zip.File, read func(io.Reader) ([]byte, error)) ([]byte, error) {
	name := f.Name
	rc, err := f.Open()
	if err == nil {
		defer func() { _ = rc.Close() }()
		var b []byte
		if b, err = read(rc); err == nil {
			return b, nil
		}
	}
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return nil, err
	case errors.Is(err, zip.ErrAlgorithm):
		return nil, invalid("%s uses an unsupported compression method (%d); use deflate or store", quote(name), f.Method)
	case errors.Is(err, zip.ErrChecksum):
		return nil, invalid("%s is corrupt (its checksum does not match)", quote(name))
	case errors.Is(err, zip.ErrFormat) && rc != nil:
		// The only ErrFormat while reading: more data than declared.
		return nil, invalid("%s inflates to more than the %d bytes its header declares; the archive is corrupt", quote(name), f.UncompressedSize64)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, invalid("%s is truncated or shorter than its header declares", quote(name))
	default:
		return nil, invalid("%s is corrupt (%v)", quote(name), err)
	}
}

func zipTypeName(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a block device"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	default:
		return fmt.Sprintf("an entry of unsupported type (mode %v)", mode)
	}
}
