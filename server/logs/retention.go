package logs

import (
	"context"
	"database/sql"
	"fmt"
)

// retained is what a deployment keeps: the oldest stored seq, the bytes
// of text stored and the next seq to be stored. The writer tracks it as it stores, so deciding whether to
// trim costs nothing; only an actual trim queries the database.
type retained struct {
	oldest int64
	bytes  int64
	next   int64
}

// loadRetained reads a deployment's retained state once, when its writer
// starts.
func (s *Service) loadRetained(ctx context.Context, deploymentID string) (retained, error) {
	var row struct {
		Oldest sql.NullInt64
		Bytes  sql.NullInt64
	}
	err := s.db.NewRaw("SELECT MIN(seq) AS oldest, SUM(LENGTH(text)) AS bytes FROM log_lines WHERE deployment_id = ?", deploymentID).Scan(ctx, &row)
	if err != nil {
		return retained{}, err
	}
	return retained{oldest: row.Oldest.Int64, bytes: row.Bytes.Int64}, nil
}

// trim deletes deploymentID's oldest lines beyond RetainLines or
// RetainBytes, given that nextSeq is the next seq to be assigned and
// keptBytes the bytes the writer counts as stored. It returns the oldest
// seq kept (0 when nothing was deleted) and the bytes it deleted, which the
// writer subtracts from its own count. It runs beside the writer, never in
// its way: ingestion keeps going while old rows are deleted.
//
// Its cost is in the rows it deletes, not in the rows kept: while the
// stored bytes are within RetainBytes (the usual case) the cut-off is by
// line count alone. An earlier version re-read every kept line after each
// trim; under an app printing flat out that was a third of the server's
// CPU.
func (s *Service) trim(ctx context.Context, deploymentID string, nextSeq, keptBytes int64) (oldest, freed int64, err error) {
	keepFrom := max(nextSeq-int64(s.opts.RetainLines), 1)
	if keptBytes > s.opts.RetainBytes {
		// Newest lines first, summing their lengths: the oldest seq whose
		// running total still fits is where the size limit cuts. Only the
		// newest RetainLines rows are read.
		var bySize struct {
			Oldest sql.NullInt64
		}
		err := s.db.NewRaw(`SELECT MIN(seq) AS oldest FROM (
			SELECT seq, SUM(LENGTH(text)) OVER (ORDER BY seq DESC) AS total
			FROM log_lines WHERE deployment_id = ? AND seq >= ?
		) AS newest WHERE total <= ?`, deploymentID, keepFrom, s.opts.RetainBytes).Scan(ctx, &bySize)
		if err != nil {
			return 0, 0, fmt.Errorf("find size cut-off: %w", err)
		}
		if bySize.Oldest.Valid && bySize.Oldest.Int64 > keepFrom {
			keepFrom = bySize.Oldest.Int64
		}
	}
	// Only the writer adds lines, and only with seq >= nextSeq, so the
	// rows below keepFrom do not change between the two statements.
	var deleted sql.NullInt64
	if err := s.db.NewRaw("SELECT SUM(LENGTH(text)) FROM log_lines WHERE deployment_id = ? AND seq < ?", deploymentID, keepFrom).
		Scan(ctx, &deleted); err != nil {
		return 0, 0, fmt.Errorf("measure trimmed lines: %w", err)
	}
	if !deleted.Valid {
		return 0, 0, nil
	}
	if _, err := s.db.NewDelete().Model((*Line)(nil)).
		Where("deployment_id = ? AND seq < ?", deploymentID, keepFrom).Exec(ctx); err != nil {
		return 0, 0, err
	}
	return keepFrom, deleted.Int64, nil
}
