package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// trim deletes deploymentID's oldest lines beyond RetainLines or
// RetainBytes. It runs beside the writer, never in its way: ingestion keeps
// going while old rows are deleted.
func (s *Service) trim(ctx context.Context, deploymentID string) error {
	// The oldest seq to keep by count.
	var keepFrom int64
	err := s.db.NewSelect().Model((*Line)(nil)).Column("seq").
		Where("deployment_id = ?", deploymentID).
		Order("seq DESC").Offset(int64(s.opts.RetainLines - 1)).Limit(1).
		Scan(ctx, &keepFrom)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find count cut-off: %w", err)
	}
	// The oldest seq to keep by size: newest lines first, summing their
	// lengths (a window function both databases have).
	var byBytes sql.NullInt64
	err = s.db.NewRaw(`SELECT MIN(seq) FROM (
		SELECT seq, SUM(LENGTH(text)) OVER (ORDER BY seq DESC) AS total
		FROM log_lines WHERE deployment_id = ?
	) AS newest WHERE total <= ?`, deploymentID, s.opts.RetainBytes).Scan(ctx, &byBytes)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find size cut-off: %w", err)
	}
	if byBytes.Valid && byBytes.Int64 > keepFrom {
		keepFrom = byBytes.Int64
	}
	if keepFrom <= 1 {
		return nil
	}
	_, err = s.db.NewDelete().Model((*Line)(nil)).
		Where("deployment_id = ? AND seq < ?", deploymentID, keepFrom).Exec(ctx)
	return err
}
