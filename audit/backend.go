package audit

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/tessera"
	tmysql "github.com/transparency-dev/tessera/storage/mysql"

	"github.com/sovereign-engine/sovereign/audit/internal/tesseraposix"
)

// Log backends: where the tiles, entries and checkpoint live.
const (
	// BackendPOSIX keeps the log in DataDir/log (Tessera's POSIX driver): one
	// writer, the default.
	BackendPOSIX = "posix"
	// BackendMySQL keeps the log in a MySQL or MariaDB database (Tessera's
	// storage/mysql driver): any number of replicas of one site append to
	// one log, each entry sequenced once inside a database transaction.
	BackendMySQL = "mysql"
)

// MySQLMinCheckpointInterval is the MySQL driver's shortest checkpoint
// interval, and the default for that backend.
const MySQLMinCheckpointInterval = time.Second

// mysqlSchema is storage/mysql/schema.sql of Tessera v1.0.4, which the driver
// expects to exist but does not create. Every statement is idempotent, so
// replicas starting together may all apply it.
//
//go:embed mysql_schema.sql
var mysqlSchema string

// backend is an opened storage driver with what Log needs beside Tessera.
type backend struct {
	driver tessera.Driver
	// probe reports why the storage cannot take records now (Ready).
	probe func(ctx context.Context) error
	// sequenceCheck checks what the driver needs to sequence a batch (the
	// POSIX driver: see checkTreeStateLock), so that Ready reports a broken
	// tree before a decision meets it; nil for the others.
	sequenceCheck func() error
	close         func() error
	// where names the storage for errors and logs, without secrets.
	where string
	// db is the mysql backend's database, which also holds the record
	// bodies (MySQLBodyTable); nil for POSIX.
	db *sql.DB
}

func openBackend(ctx context.Context, o Options) (*backend, error) {
	switch o.Backend {
	case BackendPOSIX:
		logDir := filepath.Join(o.DataDir, LogDir)
		if err := os.MkdirAll(logDir, 0o700); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if err := probeWritable(logDir); err != nil {
			return nil, fmt.Errorf("%w: %s is not writable: %w", ErrUnavailable, logDir, err)
		}
		// An existing log whose tree state cannot be locked: refuse it here,
		// with the reason.
		if _, err := os.Stat(filepath.Join(logDir, tesseraStateDir)); err == nil {
			if err := checkTreeStateLock(logDir); err != nil {
				return nil, err
			}
		}
		// Tessera's POSIX driver, less its panics on storage faults (see
		// package tesseraposix).
		driver, err := tesseraposix.New(ctx, tesseraposix.Config{Path: logDir})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		probe := func(context.Context) error {
			if err := probeWritable(logDir); err != nil {
				return fmt.Errorf("%w: %s is not writable: %w", ErrUnavailable, logDir, err)
			}
			return nil
		}
		check := func() error { return checkTreeStateLock(logDir) }
		return &backend{driver: driver, probe: probe, sequenceCheck: check, close: func() error { return nil }, where: logDir}, nil
	case BackendMySQL:
		cfg, err := mysql.ParseDSN(o.DSN)
		if err != nil {
			return nil, fmt.Errorf("audit: DSN: %w", err) // the error names no password
		}
		where := redactedDSN(cfg)
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return nil, fmt.Errorf("audit: DSN: %w", err)
		}
		// Tessera holds one transaction per batch and one per checkpoint; a
		// small pool is enough and keeps many replicas under max_connections.
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(8)
		db.SetConnMaxLifetime(5 * time.Minute)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := applyMySQLSchema(pctx, db); err != nil {
			db.Close()
			return nil, fmt.Errorf("%w: mysql %s: %w", ErrUnavailable, where, err)
		}
		driver, err := tmysql.New(pctx, db)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("%w: mysql %s: %w", ErrUnavailable, where, err)
		}
		probe := func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := db.PingContext(ctx); err != nil {
				return fmt.Errorf("%w: mysql %s: %w", ErrUnavailable, where, err)
			}
			return nil
		}
		return &backend{driver: driver, probe: probe, close: db.Close, where: "mysql " + where, db: db}, nil
	default:
		return nil, fmt.Errorf("audit: unknown backend %q (want %s or %s)", o.Backend, BackendPOSIX, BackendMySQL)
	}
}

// The POSIX driver keeps its private state in log/.state; before it
// sequences a batch it opens (O_CREATE|O_RDWR) and locks
// .state/treeState.lock. Upstream Tessera panicked when that failed; the
// driver Sovereign carries (package tesseraposix) returns the error.
const (
	tesseraStateDir  = ".state"
	tesseraStateLock = "treeState.lock"
)

// checkTreeStateLock does what the POSIX driver does before sequencing:
// opens the tree state's lock file for writing, creating it if needed. Ready
// uses it to find a broken tree on a log nobody is writing to, and Open to
// refuse one with the reason. It does not take the lock, and must not run
// while a batch is being sequenced: closing a descriptor drops every fcntl
// lock this process holds on the file, the driver's included.
func checkTreeStateLock(logDir string) error {
	p := filepath.Join(logDir, tesseraStateDir, tesseraStateLock)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("%w: the log's tree state cannot be opened for writing: %w", ErrUnavailable, err)
	}
	return f.Close()
}

func applyMySQLSchema(ctx context.Context, db *sql.DB) error {
	for _, stmt := range strings.Split(mysqlSchema, ";") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, strings.Join(lines, "\n")); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, mysqlBodySchema); err != nil {
		return fmt.Errorf("create table %s: %w", MySQLBodyTable, err)
	}
	return nil
}

// redactedDSN is the DSN without its password, safe to log.
func redactedDSN(cfg *mysql.Config) string {
	c := cfg.Clone()
	if c.Passwd != "" {
		c.Passwd = "xxxxx"
	}
	return c.FormatDSN()
}

// checkSharedKey refuses to append to a log whose published checkpoint this
// replica's log key cannot verify: replicas of one site must share log.key
// (and the record signing key), or an auditor would find checkpoints of two
// logs interleaved under one name.
func checkSharedKey(ctx context.Context, r tessera.LogReader, l *Log, where string) error {
	raw, err := r.ReadCheckpoint(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new log
	} else if err != nil {
		return fmt.Errorf("%w: %s: read checkpoint: %w", ErrUnavailable, where, err)
	}
	if _, err := ParseCheckpoint(raw, l.noteV); err != nil {
		origin := "?"
		if cp, perr := PeekCheckpoint(raw); perr == nil {
			origin = cp.Origin
		}
		return fmt.Errorf("audit: the log in %s (origin %q) is not signed by this replica's log key (origin %q): replicas of one log must share %s and %s (copy them from the first replica's data directory): %w",
			where, origin, l.origin, LogKeyFile, SigningKeyFile, err)
	}
	return nil
}
