package manifest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve runs m's API on addr (like "0.0.0.0:3000") until ctx ends, storing
// data where m asks: in <DataDir>/manifest.db, or the PostgreSQL database
// at DatabaseURL. It first migrates the database to m (see Migrate): when
// that is refused it returns the *MigrationError before listening, the data
// untouched. Replicas sharing a PostgreSQL database may start at once: they
// migrate one after the other. It returns nil once ctx ends and in-flight
// requests are done (or after 10 seconds).
func Serve(ctx context.Context, m *Manifest, st Storage, addr string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv, cleanup, err := prepare(ctx, m, st, logger)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("manifest: listen on %s: %w", addr, err)
	}
	return run(ctx, srv, ln, m, logger)
}

func prepare(ctx context.Context, m *Manifest, st Storage, logger *slog.Logger) (*http.Server, func(), error) {
	if m == nil {
		return nil, nil, errors.New("manifest: Serve needs a parsed manifest")
	}
	db, err := st.Open(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	if err := Migrate(ctx, db, m); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	a, err := newAPI(m, db, logger)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	srv := &http.Server{
		Handler:           logRequests(a, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return srv, func() { _ = db.Close() }, nil
}

func run(ctx context.Context, srv *http.Server, ln net.Listener, m *Manifest, logger *slog.Logger) error {
	logger.Info("manifest API listening", "addr", ln.Addr().String(), "app", m.Name, "version", m.Version, "entities", len(m.Entities), "database", m.Engine())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("manifest: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("manifest API: serve ended", "error", err)
	}
	logger.Info("manifest API stopped")
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request: method, path, status, duration.
func logRequests(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		// Failed and slow requests are logged; a log line for every
		// successful request would cost more than serving it (each line is
		// stored by the platform), and the router counts requests anyway.
		elapsed := time.Since(start)
		if rec.status < 400 && elapsed < slowRequest {
			return
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", elapsed))
	})
}

// slowRequest is the duration above which a successful request is logged.
const slowRequest = 500 * time.Millisecond
