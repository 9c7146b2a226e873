package source

import (
	"bytes"

	"github.com/coderunner/coderunner/server/errs"
)

const acceptedFormats = "accepted formats are .tar.gz (or .tgz), .tar and .zip"

// FromArchive validates a .tar.gz, .tar or .zip archive, detected by content,
// and returns its files as a Tree. See the package documentation for how
// names are normalised and which entry types are accepted. Errors are
// errs.KindInvalidArgument blaming "archive".
func FromArchive(data []byte, lim Limits) (*Tree, error) {
	c := newCollector(lim.withDefaults())
	if int64(len(data)) > c.budget {
		return nil, invalid("the archive is %s; the limit is %s", sizeString(int64(len(data))), sizeString(c.budget))
	}
	var err error
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		err = c.readGzip(data)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		err = c.readZip(data)
	case isTar(data):
		err = c.readTar(bytes.NewReader(data), false)
	default:
		return nil, invalid("%s; %s", describeUnknown(data), acceptedFormats)
	}
	if err != nil {
		return nil, err
	}
	return c.build()
}

func invalid(format string, args ...any) *errs.Error {
	return errs.Field(errs.KindInvalidArgument, "archive", format, args...)
}

func isTar(data []byte) bool {
	return len(data) >= 512 && string(data[257:262]) == "ustar"
}

func describeUnknown(data []byte) string {
	has := func(magic string) bool { return bytes.HasPrefix(data, []byte(magic)) }
	switch {
	case len(data) == 0:
		return "the archive is empty"
	case has("BZh"):
		return "the archive is bzip2-compressed"
	case has("\xfd7zXZ\x00"):
		return "the archive is xz-compressed"
	case has("\x28\xb5\x2f\xfd"):
		return "the archive is zstd-compressed"
	case has("7z\xbc\xaf\x27\x1c"):
		return "the archive is a 7-Zip archive"
	case has("Rar!\x1a\x07"):
		return "the archive is a RAR archive"
	default:
		return "the archive is not in a recognised format"
	}
}
