package main

import (
	"fmt"
	"os"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/witness"
)

// logOptions are serve's flags for where the audit log lives and who
// witnesses it (docs/operations.md).
type logOptions struct {
	backend       string
	dsn           string
	witnessPolicy string
	witnessLogs   string
	witnessName   string
}

func addLogFlags(f *pflag.FlagSet, o *logOptions) {
	f.StringVar(&o.backend, "log-backend", audit.BackendPOSIX, "where the audit log lives: posix (DATA_DIR/log, one server) or mysql (a MySQL/MariaDB database shared by the replicas of a site; --log-dsn)")
	f.StringVar(&o.dsn, "log-dsn", "", "mysql backend: the database, user:password@tcp(host:port)/db (prefer env SOVEREIGN_LOG_DSN: a command line is visible to every user)")
	f.StringVar(&o.witnessPolicy, "witness-policy", "", "site: file naming the witnesses that must cosign each checkpoint before it is published (Tessera's policy format: 'witness NAME VKEY URL' and 'quorum NAME')")
	f.StringVar(&o.witnessLogs, "witness-logs", "", "control plane: witness the logs whose checkpoint verifier keys (each site's log.vkey, as NAME.vkey) are in this directory, at /v1/witness; the key is DATA_DIR/"+witness.KeyFile)
	f.StringVar(&o.witnessName, "witness-name", "", "control plane: the witness's name on a new key (default sovereign-witness/<hostname>)")
}

// apply sets the log backend and witnesses of opts.
func (o logOptions) apply(opts *audit.Options) error {
	opts.Backend, opts.DSN = o.backend, o.dsn
	switch o.backend {
	case audit.BackendPOSIX:
		if o.dsn != "" {
			return fmt.Errorf("--log-dsn is set but --log-backend is %q (want mysql)", o.backend)
		}
	case audit.BackendMySQL:
		if o.dsn == "" {
			return fmt.Errorf("--log-backend mysql needs --log-dsn (or SOVEREIGN_LOG_DSN)")
		}
		// The driver's messages name the part that is wrong, never the password.
		if _, err := mysql.ParseDSN(o.dsn); err != nil {
			return fmt.Errorf("--log-dsn: %w", err)
		}
	default:
		return fmt.Errorf("--log-backend %q: want %s or %s", o.backend, audit.BackendPOSIX, audit.BackendMySQL)
	}
	if o.witnessPolicy != "" {
		b, err := os.ReadFile(o.witnessPolicy)
		if err != nil {
			return fmt.Errorf("--witness-policy: %w", err)
		}
		wg, err := audit.ParseWitnessPolicy(b)
		if err != nil {
			return fmt.Errorf("--witness-policy %s: %w", o.witnessPolicy, err)
		}
		opts.Witnesses = wg
	}
	return nil
}

// checkWitness checks the witness flags, reading the log keys, without
// creating the witness's own key.
func (o logOptions) checkWitness() error {
	if o.witnessLogs == "" {
		if o.witnessName != "" {
			return fmt.Errorf("--witness-name applies to --witness-logs, which is not set")
		}
		return nil
	}
	if _, err := witness.LoadLogKeys(o.witnessLogs); err != nil {
		return fmt.Errorf("--witness-logs: %w", err)
	}
	return nil
}

// openWitness returns the control plane's witness, or nil without --witness-logs;
// it creates the witness key on first use.
func (o logOptions) openWitness(dataDir string) (api.Witness, error) {
	if err := o.checkWitness(); err != nil || o.witnessLogs == "" {
		return nil, err
	}
	keys, err := witness.LoadLogKeys(o.witnessLogs)
	if err != nil {
		return nil, fmt.Errorf("--witness-logs: %w", err)
	}
	w, err := witness.Open(dataDir, o.witnessName, keys)
	if err != nil {
		return nil, fmt.Errorf("--witness-logs: %w", err)
	}
	return w, nil
}
