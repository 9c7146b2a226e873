// Package manifest is the manifest runtime: a CRUD JSON API over SQLite or
// PostgreSQL, described by a manifest.yaml instead of code.
//
// # The manifest
//
//	name: blog
//	version: 1.0.0
//	database: sqlite   # or postgres; sqlite when left out
//	entities:
//	  - name: Post
//	    fields:
//	      - name: title
//	        type: string
//	        required: true
//
// Parse checks a manifest strictly and reports every problem with its line
// and column. Field types: string, text, number, integer, boolean, date (RFC
// 3339 date-time, or a full date meaning midnight UTC), enum (with `enum:
// [values]`), ref (with `ref: Entity`: the id of one of that entity's
// records) and json (any JSON value). Field rules: required, unique, enum,
// default, min, max (bounds for numbers, length in characters for string and
// text), pattern (an RE2 regular expression that must match somewhere in a
// string or text value, as JSON Schema's pattern; anchor it with ^ and $ for
// a whole-value match) and ref.
//
// # Routes
//
// Each entity is served under /api/<plural>, the plural being the lower-cased
// name plus a simple English ending (see Plural). Records carry a generated
// id (a UUIDv7 string), createdAt and updatedAt. See Handler for the routes.
// Lists take limit, offset, sort and filters; a field named limit, offset or
// sort is filtered with field[eq]=v, as the bare names page and sort.
//
// # Storage
//
// The data is kept where the manifest's database key says: sqlite (the
// default) is the file manifest.db in the data directory; postgres is the
// deployment's PostgreSQL database (DATABASE_URL), in its current schema,
// shared by every replica. The two differ only in what a dialect renders
// (see dialect): the API, the migration rules and the messages are the same.
//
// One table per entity, named like the entity, with the columns "id"
// TEXT PRIMARY KEY, "createdAt" and "updatedAt" (TEXT, fixed-width UTC
// timestamps so they sort as text) and one column per field: string, text,
// enum, ref and date as TEXT (dates stored as
// 2006-01-02T15:04:05.000000000Z, served as RFC 3339), number REAL, integer
// INTEGER, boolean INTEGER 0/1, json TEXT holding compact JSON; on
// PostgreSQL, TEXT COLLATE "C" (byte order, as SQLite), DOUBLE PRECISION and
// BIGINT, an index name longer than 63 bytes cut and given a hash. Required is
// enforced by the API, not by NOT NULL, so that rules can change without a
// table rebuild. A unique field gets the unique index "_cr_ux:<entity>.<field>"
// and a ref field the index "_cr_ix:<entity>.<field>" (lower-cased). The
// table _cr_manifest holds one row per applied manifest (the newest is in
// force) with the catalog of every table and column ever created.
//
// # Migration and removal policy
//
// Migrate brings the database from the manifest stored in it to a new one
// inside a single transaction (on PostgreSQL, under an advisory lock, so
// that replicas starting together migrate one after the other), after
// checking that every change is safe for the data already there; when one
// is not, it returns a *MigrationError naming each field and why, and
// changes nothing. Removing a field or an
// entity never deletes data: the column or table stays, hidden from the API
// (new records leave a hidden column NULL), and declaring it again brings it
// back under the usual change rules, with the data it had. See Migrate.
package manifest
