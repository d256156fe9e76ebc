package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"
)

var (
	// ErrUnavailable means the log could not durably take a record: storage
	// failed, the log is overloaded (it wraps tessera.ErrPushback then), the
	// context ended first, or the log is closed. Nothing may be answered as
	// decided: the API maps it to 503 Service Unavailable with Retry-After.
	//
	// When the context ends first, the record may still be sequenced later;
	// the log then holds a decision that was never answered, which errs on
	// the side of the auditor.
	ErrUnavailable = errors.New("audit log unavailable")
	// ErrInvalidRecord means the record itself is wrong (unknown kind, request
	// that is not JSON, too large): a bug in the caller, 500.
	ErrInvalidRecord = errors.New("invalid audit record")
	// ErrNotFound means no entry has that index yet, or a proof was asked for
	// a tree size the log has not published: 404.
	ErrNotFound = errors.New("audit entry not found")
)

// MaxEntrySize is the largest log entry (signed envelope) in bytes, the
// C2SP tlog-tiles limit.
const MaxEntrySize = tessera.DefaultEntrySizeLimit

// Defaults for Options, chosen by the benchmarks in BENCHMARKS.md. Appends
// are grouped when the previous batch is done (group commit, see
// groupCommitter), so a lone writer pays one write, and concurrent writers
// share one fsync per batch of up to BatchMaxSize.
const (
	DefaultBatchMaxSize       = 256
	DefaultBatchMaxAge        = 250 * time.Microsecond
	DefaultCheckpointInterval = 100 * time.Millisecond // the POSIX driver's minimum
)

// Options configure Open. The zero value of each field but DataDir picks the
// default.
type Options struct {
	// DataDir holds the keys and, with the POSIX backend, the log
	// (DataDir/log). Created 0700.
	DataDir string
	// Backend is where the log lives: BackendPOSIX ("" too) or BackendMySQL.
	Backend string
	// DSN is the MySQL/MariaDB data source name of the mysql backend
	// (go-sql-driver/mysql syntax: user:password@tcp(host:port)/database).
	// It holds a password: LogValue never shows it.
	DSN string
	// Witnesses cosign every checkpoint before it is published (C2SP
	// tlog-witness); see ParseWitnessPolicy. With WitnessFailOpen false (the
	// default) a checkpoint the policy does not accept is not published.
	Witnesses       *tessera.WitnessGroup
	WitnessFailOpen bool
	// Origin is the log's name, the first line of its checkpoints. Empty
	// means the existing log key's origin, or "sovereign/<hostname>" for a new
	// log. A configured origin that differs from the key's is an error.
	Origin string
	// SigningKey signs records: "" for DataDir/signing.key (an Ed25519 key
	// created 0600 on first start), the path of a PEM private key, or a KMS
	// URI (awskms://, gcpkms://, azurekms://, hashivault://; the provider
	// must be linked in, see package audit/kms).
	SigningKey string
	// Passphrase returns the passphrase of an encrypted signing key file, and
	// encrypts the default key when it is created. Nil or an empty result
	// means none. The command line uses PassphraseFromEnv.
	Passphrase func() ([]byte, error)
	// Redact lists request fields replaced by "[redacted]" before signing:
	// top-level names or dotted paths (see Redact).
	Redact []string
	// BatchMaxSize bounds a sequencing batch (one write and fsync). Appends
	// that arrive while a batch is being written form the next batch.
	// BatchMaxAge is how long Tessera holds a batch open for the rest of its
	// group once the first entry is handed over; it only needs to cover that
	// hand-over.
	BatchMaxSize uint
	BatchMaxAge  time.Duration
	// CheckpointInterval is how often a grown tree gets a new signed
	// checkpoint (at least 100ms; 1s, and 1s by default, for the mysql
	// backend); an entry's inclusion proof is available once a checkpoint
	// covers it.
	CheckpointInterval time.Duration
	// PushbackMaxOutstanding caps entries sequenced but not yet integrated
	// before Append fails with ErrUnavailable (tessera.ErrPushback).
	PushbackMaxOutstanding uint
	// NoJournal makes Append wait for Tessera's own sequencing and
	// integration (several file replacements a batch) instead of one
	// fdatasync'd write to the journal (see journal). For comparison in
	// benchmarks; the journal is the default.
	NoJournal bool
}

func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" {
		return o, errors.New("audit: DataDir is required")
	}
	if o.Backend == "" {
		o.Backend = BackendPOSIX
	}
	if o.BatchMaxSize == 0 {
		o.BatchMaxSize = DefaultBatchMaxSize
	}
	if o.BatchMaxAge == 0 {
		o.BatchMaxAge = DefaultBatchMaxAge
	}
	minInterval := DefaultCheckpointInterval
	if o.Backend == BackendMySQL {
		minInterval = MySQLMinCheckpointInterval
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = minInterval
	}
	if o.PushbackMaxOutstanding == 0 {
		o.PushbackMaxOutstanding = tessera.DefaultPushbackMaxOutstanding
	}
	var errs []error
	if o.BatchMaxAge < 0 {
		errs = append(errs, fmt.Errorf("BatchMaxAge %v is negative", o.BatchMaxAge))
	}
	if o.CheckpointInterval < minInterval {
		errs = append(errs, fmt.Errorf("CheckpointInterval %v is below the %s backend's minimum %v", o.CheckpointInterval, o.Backend, minInterval))
	}
	switch o.Backend {
	case BackendPOSIX:
		if o.DSN != "" {
			errs = append(errs, errors.New("DSN is set but the backend is posix (set Backend to mysql)"))
		}
	case BackendMySQL:
		if o.DSN == "" {
			errs = append(errs, errors.New("DSN is required for the mysql backend"))
		} else if _, err := mysql.ParseDSN(o.DSN); err != nil {
			errs = append(errs, fmt.Errorf("DSN: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("Backend %q is unknown (want %s or %s)", o.Backend, BackendPOSIX, BackendMySQL))
	}
	for _, p := range o.Redact {
		if !validRedactPath(p) {
			errs = append(errs, fmt.Errorf("redact path %q is empty or has an empty segment", p))
		}
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("audit: invalid options: %w", errors.Join(errs...))
	}
	return o, nil
}

// LogValue lets Options be logged: no secrets, just where keys come from.
func (o Options) LogValue() slog.Value {
	if d, err := o.withDefaults(); err == nil {
		o = d // log what is in force, not the zero values that mean "default"
	}
	key := o.SigningKey
	if key == "" {
		key = filepath.Join(o.DataDir, SigningKeyFile)
	}
	attrs := []slog.Attr{
		slog.String("data_dir", o.DataDir),
		slog.String("backend", o.Backend),
		slog.String("origin", o.Origin),
		slog.String("signing_key", key),
		slog.Bool("passphrase", o.Passphrase != nil),
		slog.Any("redact", o.Redact),
		slog.Uint64("batch_max_size", uint64(o.BatchMaxSize)),
		slog.Duration("batch_max_age", o.BatchMaxAge),
		slog.Duration("checkpoint_interval", o.CheckpointInterval),
	}
	if o.DSN != "" {
		dsn := "(invalid)"
		if cfg, err := mysql.ParseDSN(o.DSN); err == nil {
			dsn = redactedDSN(cfg)
		}
		attrs = append(attrs, slog.String("dsn", dsn))
	}
	if o.Witnesses != nil {
		attrs = append(attrs, slog.Int("witness_endpoints", len(o.Witnesses.Endpoints())), slog.Bool("witness_fail_open", o.WitnessFailOpen))
	}
	return slog.GroupValue(attrs...)
}

// Log is the signed, append-only audit log of one site.
type Log struct {
	opts     Options
	logDir   string // POSIX backend only
	backend  *backend
	sealer   *sealer
	appender *tessera.Appender
	// journal makes appends durable and hands them to Tessera in order;
	// without it (NoJournal), committer groups concurrent appends into one
	// Tessera sequencing batch.
	journal   *journal
	committer *groupCommitter
	shutdown  func(context.Context) error
	reader    tessera.LogReader
	// source reads the log for the read API and proofs (see exactSource).
	source Source
	cancel context.CancelFunc

	origin  string
	vkey    string
	noteV   note.Verifier
	pubPEM  []byte
	keySet  *KeySet
	closed  atomic.Bool
	closeMu sync.Mutex

	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error
	doneErr  error
	done     bool

	// requestKey keys the digest of redacted requests (RequestKeyFile).
	requestKey []byte
	// bodies stores the bodies of records too large for one entry: the log
	// directory's bodies/ (POSIX) or the database's MySQLBodyTable (mysql).
	bodies bodyWriter

	metrics *logMetrics
}

// Receipt says where a record landed.
type Receipt struct {
	// Index is the record's position in the log.
	Index uint64 `json:"index"`
	// EntrySHA256 is the hex SHA-256 of the log entry bytes (the envelope).
	EntrySHA256 string `json:"entry_sha256"`
}

// Open opens the log in opts.DataDir, creating keys and the log on first
// start and continuing the existing log afterwards. A data directory that
// cannot be written is ErrUnavailable.
func Open(ctx context.Context, opts Options) (*Log, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := probeWritable(o.DataDir); err != nil {
		return nil, fmt.Errorf("%w: %s is not writable: %w", ErrUnavailable, o.DataDir, err)
	}
	sv, err := loadSigner(ctx, o.DataDir, o.SigningKey, o.Passphrase)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(sv)
	if err != nil {
		return nil, err
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	pubPEM, err := recordPublicKey(o.DataDir, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, SigningPublicKeysFile, err)
	}
	pubs, err := ParsePublicKeys(pubPEM)
	if err != nil {
		return nil, err
	}
	keySet, err := NewKeySet(pubs...)
	if err != nil {
		return nil, err
	}
	var requestKey []byte
	if len(o.Redact) > 0 {
		if requestKey, err = loadRequestKey(o.DataDir); err != nil {
			return nil, err
		}
	}
	noteSigner, vkey, err := loadLogKey(o.DataDir, o.Origin)
	if err != nil {
		return nil, err
	}
	noteV, err := NoteVerifier(vkey)
	if err != nil {
		return nil, err
	}

	be, err := openBackend(ctx, o)
	if err != nil {
		return nil, err
	}
	l := &Log{
		opts:    o,
		backend: be,
		sealer:  s,
		origin:  noteSigner.Name(),
		vkey:    vkey,
		noteV:   noteV,
		pubPEM:  pubPEM,
		keySet:  keySet,

		requestKey: requestKey,
	}
	l.metrics = newLogMetrics(l)
	if o.Backend == BackendPOSIX {
		l.logDir = filepath.Join(o.DataDir, LogDir)
	}
	// Before anything is appended: a replica with its own keys must not add
	// to a shared log.
	if sr, ok := be.driver.(tessera.LogReader); ok {
		if err := checkSharedKey(ctx, sr, l, be.where); err != nil {
			be.close()
			return nil, err
		}
	}
	// The journal (POSIX only: it sequences locally, so it needs the log to
	// have one writer) feeds Tessera larger batches; see journal.go.
	useJournal := o.Backend == BackendPOSIX && !o.NoJournal
	if o.Backend == BackendPOSIX && o.NoJournal && journalPending(filepath.Join(o.DataDir, JournalDir)) {
		be.close()
		return nil, fmt.Errorf("journal %s holds entries not known to be in the log: open without NoJournal once to replay them", filepath.Join(o.DataDir, JournalDir))
	}
	batchSize, batchAge, pushback := o.BatchMaxSize, o.BatchMaxAge, o.PushbackMaxOutstanding
	if useJournal {
		batchSize, batchAge = max(batchSize, journalChunk), max(batchAge, journalBatchAge)
		pushback = max(pushback, 4*journalChunk)
	}
	appendOpts := tessera.NewAppendOptions().
		WithCheckpointSigner(noteSigner).
		WithBatching(batchSize, batchAge).
		WithCheckpointInterval(o.CheckpointInterval).
		WithPushback(pushback)
	if o.Witnesses != nil {
		appendOpts = appendOpts.WithWitnesses(*o.Witnesses, &tessera.WitnessOptions{FailOpen: o.WitnessFailOpen})
	}
	// The appender's background work outlives Open's context; Close ends it.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	appender, shutdown, reader, err := newAppender(bg, be.driver, appendOpts)
	if err != nil {
		cancel()
		be.close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	l.appender = appender
	l.shutdown = shutdown
	l.reader = reader
	l.source = exactSource{reader}
	if l.logDir != "" {
		l.bodies = bodyStore{logDir: l.logDir}
		l.source = withBodies{exactSource{reader}, dirBodies{l.logDir}}
	} else if be.db != nil {
		mb := mysqlBodies{db: be.db}
		l.bodies = mb
		l.source = withBodies{exactSource{reader}, mb}
	}
	l.cancel = cancel
	if useJournal {
		size, err := reader.IntegratedSize(ctx)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		} else {
			l.journal, err = openJournal(ctx, filepath.Join(o.DataDir, JournalDir), l.source, size, appender.Add, be.sequenceCheck, int(o.BatchMaxSize), int(batchSize), uint64(pushback), l.metrics.fsync, slog.Default())
		}
		if err != nil {
			cancel()
			shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer stop()
			_ = shutdown(shutdownCtx)
			be.close()
			return nil, err
		}
	} else {
		l.committer = newGroupCommitter(appender.Add, int(o.BatchMaxSize))
	}
	return l, nil
}

// newAppender is tessera.NewAppender with a panic of the driver's
// initialisation, which runs in this goroutine, turned into ErrUnavailable: a
// storage fault at start is a refusal to start, with the reason, not a crash.
// (Upstream's POSIX driver panicked when it could not lock its tree state;
// the one Sovereign carries returns the error, see package tesseraposix.)
func newAppender(ctx context.Context, d tessera.Driver, opts *tessera.AppendOptions) (a *tessera.Appender, shutdown func(context.Context) error, r tessera.LogReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			a, shutdown, r = nil, nil, nil
			err = fmt.Errorf("%w: the log's storage failed while opening it: %v", ErrUnavailable, p)
		}
	}()
	return tessera.NewAppender(ctx, d, opts)
}

// probeWritable creates, syncs and removes a file in dir: an Open that
// succeeds on a read-only or full file system would fail every decision.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write([]byte("sovereign")); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Append signs r and appends it, returning once the entry is durably
// sequenced and integrated into the tree (fsync'd; its checkpoint follows
// within CheckpointInterval). It fills r.ID, r.Time and r.RequestSHA256 when
// empty, and canonicalizes and redacts r.Request. Errors wrap ErrUnavailable
// (503) or ErrInvalidRecord (500).
func (l *Log) Append(ctx context.Context, r *Record) (Receipt, error) {
	start := time.Now()
	receipt, err := l.append(ctx, r)
	l.metrics.observeAppend(start, err)
	return receipt, err
}

func (l *Log) append(ctx context.Context, r *Record) (Receipt, error) {
	if l.closed.Load() {
		return Receipt{}, refused(RefusedClosed, fmt.Errorf("%w: log is closed", ErrUnavailable))
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := r.prepare(time.Now(), l.opts.Redact, l.requestKey); err != nil {
		return Receipt{}, err
	}
	if r.Body != nil || r.Version != 0 {
		return Receipt{}, fmt.Errorf("%w: body and version are set by Append, not by its caller", ErrInvalidRecord)
	}
	entry, err := l.sealer.seal(r)
	if err != nil {
		return Receipt{}, err
	}
	if len(entry) > MaxEntrySize {
		if entry, err = l.sealWithBody(ctx, r, len(entry)); err != nil {
			return Receipt{}, err
		}
	}
	sum := sha256.Sum256(entry)
	receipt := Receipt{EntrySHA256: hex.EncodeToString(sum[:])}

	p := &pendingAppend{ctx: ctx, entry: tessera.NewEntry(entry), result: make(chan appendResult, 1)}
	if l.journal != nil {
		if err := l.journal.submit(p); err != nil {
			return Receipt{}, err
		}
	} else if !l.committer.submit(p) {
		return Receipt{}, refused(RefusedClosed, fmt.Errorf("%w: log is closed", ErrUnavailable))
	}
	select {
	case res := <-p.result:
		if res.err != nil {
			return Receipt{}, fmt.Errorf("%w: append: %w", ErrUnavailable, res.err)
		}
		receipt.Index = res.idx.Index
		return receipt, nil
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("%w: append: %w", ErrUnavailable, ctx.Err())
	}
}

// sealWithBody moves a prepared record's request and result into a body
// (body.go), stores the body durably and seals the record that names it.
// Both backends have a body store; without one the record is refused
// (ErrRecordTooLarge), never appended naming a body nobody kept.
func (l *Log) sealWithBody(ctx context.Context, r *Record, entrySize int) ([]byte, error) {
	if l.bodies == nil {
		return nil, fmt.Errorf("%w: entry of %d bytes exceeds %d, and the %s log has no body store", ErrRecordTooLarge, entrySize, MaxEntrySize, l.opts.Backend)
	}
	body := encodeBody(r.Request, r.Result)
	if len(body) > MaxBodySize {
		return nil, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrRecordTooLarge, len(body), MaxBodySize)
	}
	sum := sha256.Sum256(body)
	ref := &BodyRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}
	small := *r
	small.Request, small.Result, small.Body, small.Version = nil, nil, ref, RecordVersionBody
	if err := small.validate(); err != nil {
		return nil, err
	}
	entry, err := l.sealer.seal(&small)
	if err != nil {
		return nil, err
	}
	if len(entry) > MaxEntrySize {
		return nil, fmt.Errorf("%w: entry of %d bytes exceeds %d even with its body apart", ErrInvalidRecord, len(entry), MaxEntrySize)
	}
	if err := l.bodies.put(ctx, ref.SHA256, body); err != nil {
		return nil, fmt.Errorf("%w: record body: %w", ErrUnavailable, err)
	}
	r.Body, r.Version = ref, RecordVersionBody
	return entry, nil
}

// Close waits until every appended entry is covered by a published
// checkpoint, then stops the log. Appends after Close fail with
// ErrUnavailable. Close is idempotent.
func (l *Log) Close(ctx context.Context) error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	if l.done {
		return l.doneErr
	}
	l.closed.Store(true)
	// The committer drains appends already queued; with storage hung that
	// could take forever, so it is bounded by ctx like the rest of Close.
	drained := make(chan error, 1)
	go func() {
		if l.journal != nil {
			drained <- l.journal.close(ctx)
			return
		}
		l.committer.close()
		drained <- nil
	}()
	var err error
	select {
	case err = <-drained:
		if serr := l.shutdown(ctx); err == nil {
			err = serr
		}
	case <-ctx.Done():
		err = fmt.Errorf("appends still queued: %w", ctx.Err())
	}
	l.cancel()
	if cerr := l.backend.close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("audit: close: %w", err)
	}
	l.done, l.doneErr = true, err
	return err
}

// Origin is the log's name, the first line of its checkpoints.
func (l *Log) Origin() string { return l.origin }

// VerifierKey is the note verifier key of the checkpoints (log.vkey), for
// auditors: "<origin>+<hash>+<base64 key>".
func (l *Log) VerifierKey() string { return l.vkey }

// PublicKeysPEM is the PEM public key of every key that signed this log's
// records (signing.pub), for auditors.
func (l *Log) PublicKeysPEM() []byte { return l.pubPEM }

// KeyID is the id of the key signing new records.
func (l *Log) KeyID() string { return l.sealer.keyID }

// Dir is the directory holding the log's tiles and checkpoint with the
// POSIX backend, "" with the others: read the log through Source.
func (l *Log) Dir() string { return l.logDir }

// Backend is the backend holding the log (BackendPOSIX or BackendMySQL).
func (l *Log) Backend() string { return l.opts.Backend }

// Source reads this log in the C2SP tlog-tiles layout from its backend, the
// same bytes whichever replica answers.
func (l *Log) Source() Source { return l.source }

// AwaitIntegrated waits until every entry appended so far is in the tree
// (and so readable by Source and counted by Size). Appends return once they
// are durable in the journal; the tree follows within about a tenth of a
// second. Without the journal it returns at once.
func (l *Log) AwaitIntegrated(ctx context.Context) error {
	if l.journal == nil {
		return nil
	}
	if err := l.journal.awaitIntegrated(ctx, l.journal.next.Load()); err != nil {
		return fmt.Errorf("%w: waiting for the log to integrate its journal: %w", ErrUnavailable, err)
	}
	return nil
}

// Size is the number of entries durably integrated into the log.
func (l *Log) Size(ctx context.Context) (uint64, error) {
	n, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return n, nil
}

// Ready reports why the log cannot take records now, or nil: closed, its
// directory no longer writable (a full or read-only file system), or its
// database unreachable. It writes and syncs a probe file or pings the
// database, so call it at probe rates, not per request.
func (l *Log) Ready() error {
	if l.closed.Load() {
		return fmt.Errorf("%w: log is closed", ErrUnavailable)
	}
	// The probe syncs a file; callers that poll (an unauthenticated /readyz)
	// share one probe a second rather than each forcing an fsync.
	l.readyMu.Lock()
	defer l.readyMu.Unlock()
	if time.Since(l.readyAt) < time.Second {
		return l.readyErr
	}
	l.readyErr = nil
	if l.journal != nil {
		errp := l.journal.failed.Load()
		if errp == nil {
			if lag := l.journal.lagErr.Load(); lag != nil {
				err := fmt.Errorf("%w: records are journaled but not reaching the log: %w", ErrUnavailable, *lag)
				errp = &err
			}
		}
		if errp != nil {
			l.readyErr = *errp
			l.readyAt = time.Now()
			return l.readyErr
		}
		// An idle log finds a broken tree before a decision does.
		if err := l.journal.checkIdle(); err != nil {
			l.readyErr = err
			l.readyAt = time.Now()
			return l.readyErr
		}
	}
	l.readyErr = l.backend.probe(context.Background())
	l.readyAt = time.Now()
	return l.readyErr
}
