package logs

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

var copyColumns = []string{"deployment_id", "seq", "time", "stream", "phase", "replica", "text", "truncated"}

// insert stores a batch. On PostgreSQL it uses COPY, several times faster
// than a multi-row INSERT for log-sized rows; on SQLite prepared multi-row
// INSERTs in one transaction.
func (s *Service) insert(ctx context.Context, lines []Line) error {
	if s.db.Dialect().Name().String() != "pg" {
		return s.sqlite.insert(ctx, s.db.DB, lines)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected PostgreSQL driver connection %T", driverConn)
		}
		rows := make([][]any, len(lines))
		for i := range lines {
			l := &lines[i]
			rows[i] = []any{l.DeploymentID, l.Seq, l.Time, int16(l.Stream), int16(l.Phase), int32(l.Replica), l.Text, l.Truncated}
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"log_lines"}, copyColumns, pgx.CopyFromRows(rows))
		return err
	})
}

// sqliteChunk is how many rows one prepared SQLite INSERT carries.
const sqliteChunk = 128

// sqliteInserter keeps two prepared statements: one for sqliteChunk rows
// and one for a single row. Building and parsing a fresh INSERT of up to
// 4,000 rows for every batch (what bun's multi-row insert does) is a large
// part of the cost of storing it; prepared once, each chunk is only bound
// and stepped.
type sqliteInserter struct {
	once          sync.Once
	chunk, single *sql.Stmt
	err           error
}

func (ins *sqliteInserter) prepare(ctx context.Context, db *sql.DB) error {
	ins.once.Do(func() {
		insert := "INSERT INTO log_lines (" + strings.Join(copyColumns, ", ") + ") VALUES "
		row := "(?, ?, ?, ?, ?, ?, ?, ?)"
		if ins.chunk, ins.err = db.PrepareContext(ctx, insert+strings.Repeat(row+", ", sqliteChunk-1)+row); ins.err != nil {
			return
		}
		ins.single, ins.err = db.PrepareContext(ctx, insert+row)
	})
	return ins.err
}

func (ins *sqliteInserter) close() {
	if ins.chunk != nil {
		_ = ins.chunk.Close()
	}
	if ins.single != nil {
		_ = ins.single.Close()
	}
}

// sqliteTime is how bun's SQLite dialect writes a time, so rows stored
// here read back like every other timestamp.
const sqliteTime = "2006-01-02 15:04:05.999999-07:00"

func appendRow(args []any, l *Line) []any {
	return append(args, l.DeploymentID, l.Seq, l.Time.UTC().Format(sqliteTime), int(l.Stream), int(l.Phase), l.Replica, l.Text, l.Truncated)
}

func (ins *sqliteInserter) insert(ctx context.Context, db *sql.DB, lines []Line) error {
	if err := ins.prepare(ctx, db); err != nil {
		return fmt.Errorf("prepare log insert: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	args := make([]any, 0, sqliteChunk*len(copyColumns))
	if len(lines) >= sqliteChunk {
		chunk := tx.StmtContext(ctx, ins.chunk)
		for ; len(lines) >= sqliteChunk; lines = lines[sqliteChunk:] {
			args = args[:0]
			for i := range lines[:sqliteChunk] {
				args = appendRow(args, &lines[i])
			}
			if _, err := chunk.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
	}
	if len(lines) > 0 {
		single := tx.StmtContext(ctx, ins.single)
		for i := range lines {
			if _, err := single.ExecContext(ctx, appendRow(args[:0], &lines[i])...); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}
