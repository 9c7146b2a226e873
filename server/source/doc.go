// Package source is the intake of a deployment's source code: it turns what a
// user sends (a list of files, or one .tar.gz / .tar / .zip archive) into a
// validated in-memory Tree, stores trees durably by content digest, and
// writes them out for a build.
//
// This package is the one place that decides what is written to disk, so it
// enforces every rule itself, whatever the API layer already checked.
// FromFiles and FromArchive validate entirely in memory and touch no disk.
//
// # Paths
//
// A path is slash-separated and relative to the project root. Rejected:
// absolute paths, "." and ".." segments, empty segments (a doubled, leading
// or trailing "/"), backslashes, NUL bytes, invalid UTF-8, paths longer than
// MaxPathBytes and names (segments) longer than MaxNameBytes. Two entries
// with the same path are rejected, and so is a path that is both a file and
// a directory ("a" and "a/b").
//
// # Archives
//
// FromArchive recognises the format by content, never by name: gzip
// (1f 8b, holding a tar), plain POSIX/GNU tar ("ustar" magic) and zip
// (PK\x03\x04, or PK\x05\x06 for an empty zip). Entry names are normalised
// before validation:
//
//   - leading "./" segments are removed, and the archive's root directory
//     entry ("./" or ".") is ignored;
//   - if every entry lies under one and the same top-level directory (the
//     layout of GitHub's "repo-main/..." downloads and of `tar czf x.tgz
//     dir`), that directory is stripped, so "repo-main/package.json"
//     becomes "package.json". A lone top-level file, or two top-level
//     names, disable the stripping;
//   - entries under "__MACOSX/" (resource forks macOS's Finder adds to zips)
//     and tar's pax global headers (git archive's commit id) are skipped.
//
// Entry types: regular files are kept, with the executable bit taken from
// the owner-execute bit (0100) of the tar or zip mode. Directories are
// implied by the files and not stored. Hard links (tar) must name a regular
// file earlier in the archive and become copies of it; ones pointing outside
// the archive are rejected. Symlinks are materialised as copies of the file
// they point to: a symlink (or a chain of up to 40) must resolve to a regular
// file of the project; symlinks whose target is absolute or climbs out of the
// project with "..", symlinks to directories and dangling symlinks are
// rejected with a message naming the link and its target. The Tree, and so
// the written source, never contains a symlink. Copies count against the
// file and byte limits like any other file. Device files, FIFOs, sockets and
// any other entry type are rejected, and so are encrypted zip entries.
//
// # Limits
//
// Limits are enforced while reading: each file is read through a limited
// reader, never trusting the sizes in its header, so an archive bomb is
// rejected after reading at most about MaxTotalBytes+1 bytes of content,
// with memory bounded by what is accepted. The archive itself and its
// decompressed stream as a whole (headers and padding included) are capped
// at MaxTotalBytes + 4 KiB per allowed entry + 1 MiB, and the number of
// entries at 4 × MaxFiles, directories included.
//
// # Storage
//
// Store keeps one file per tree, named by its digest in a two-level fan-out
// (<dir>/ab/cdef…, the 62 hex digits after "ab"). The file is a gzip'd tar
// holding only regular files, in path order, mode 0644 or 0755, owner 0 and
// modification time 0, so `tar tzvf` can inspect it.
package source
