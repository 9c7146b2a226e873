package logs

import (
	"context"
	"database/sql"
	"fmt"
)

// retained is what a deployment keeps: the oldest stored seq and the bytes
// of text stored. The writer tracks it as it stores, so deciding whether to
// trim costs nothing; only an actual trim queries the database.
type retained struct {
	oldest int64
	bytes  int64
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
// RetainBytes, given that nextSeq is the next seq to be assigned, and
// returns what remains. It runs beside the writer, never in its way:
// ingestion keeps going while old rows are deleted. Its queries only look
// at the newest RetainLines rows, so its cost does not grow with history.
func (s *Service) trim(ctx context.Context, deploymentID string, nextSeq int64) (retained, error) {
	keepFrom := max(nextSeq-int64(s.opts.RetainLines), 1)
	// Newest lines first, summing their lengths: the oldest seq whose
	// running total still fits is where the size limit cuts.
	var bySize struct {
		Oldest sql.NullInt64
		Bytes  sql.NullInt64
	}
	err := s.db.NewRaw(`SELECT MIN(seq) AS oldest, MAX(total) AS bytes FROM (
		SELECT seq, SUM(LENGTH(text)) OVER (ORDER BY seq DESC) AS total
		FROM log_lines WHERE deployment_id = ? AND seq >= ?
	) AS newest WHERE total <= ?`, deploymentID, keepFrom, s.opts.RetainBytes).Scan(ctx, &bySize)
	if err != nil {
		return retained{}, fmt.Errorf("find size cut-off: %w", err)
	}
	if bySize.Oldest.Valid && bySize.Oldest.Int64 > keepFrom {
		keepFrom = bySize.Oldest.Int64
	}
	if _, err := s.db.NewDelete().Model((*Line)(nil)).
		Where("deployment_id = ? AND seq < ?", deploymentID, keepFrom).Exec(ctx); err != nil {
		return retained{}, err
	}
	return s.loadRetained(ctx, deploymentID)
}
