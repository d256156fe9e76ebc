package audit

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
)

// The mysql backend keeps record bodies in the log's own database, in the
// table MySQLBodyTable, so that every replica sharing the log serves every
// body and a backup of the database is a backup of its bodies too. A body is
// stored in parts of at most mysqlBodyPart bytes (rows keyed by digest and
// part number): a body may reach MaxBodySize, far over the server's
// max_allowed_packet (16 MiB by default on MariaDB), which bounds one row
// sent or received.

// MySQLBodyTable is the table holding record bodies on the mysql backend.
const MySQLBodyTable = "sovereign_bodies"

// mysqlBodyPart is the size of a body's parts in MySQLBodyTable.
const mysqlBodyPart = 1 << 20

// mysqlBodySchema creates MySQLBodyTable; idempotent, like the Tessera
// schema it is applied with. InnoDB: a committed body is on stable storage
// (innodb_flush_log_at_trx_commit=1, which the log's own transactions rely
// on too).
const mysqlBodySchema = "CREATE TABLE IF NOT EXISTS `" + MySQLBodyTable + "` (\n" +
	"  `sha256` CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,\n" +
	"  `part`   INT UNSIGNED NOT NULL,\n" +
	"  `data`   LONGBLOB NOT NULL,\n" +
	"  PRIMARY KEY (`sha256`, `part`)\n" +
	") ENGINE=InnoDB"

// mysqlBodies reads and writes record bodies in MySQLBodyTable.
type mysqlBodies struct{ db *sql.DB }

// put stores body under sum in one transaction and returns once it is
// committed, before the record naming it is appended: no entry can name a
// body the database lost. A failure before the append leaves a body no
// record names, which verification ignores. Writing the same digest again
// replaces its parts (a damaged copy is not trusted) and drops any part past
// the body's end, all in the same transaction.
func (m mysqlBodies) put(ctx context.Context, sum string, body []byte) (err error) {
	if !validBodyName(sum) {
		return fmt.Errorf("body %q: not a hex SHA-256", sum)
	}
	if len(body) > MaxBodySize {
		return fmt.Errorf("body %s: %d bytes exceeds %d", sum, len(body), MaxBodySize)
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	parts := max(1, (len(body)+mysqlBodyPart-1)/mysqlBodyPart)
	for i := range parts {
		chunk := body[i*mysqlBodyPart : min(len(body), (i+1)*mysqlBodyPart)]
		if _, err = tx.ExecContext(ctx, "REPLACE INTO `"+MySQLBodyTable+"` (`sha256`, `part`, `data`) VALUES (?, ?, ?)", sum, i, chunk); err != nil {
			return fmt.Errorf("body %s: part %d: %w", sum, i, err)
		}
	}
	if _, err = tx.ExecContext(ctx, "DELETE FROM `"+MySQLBodyTable+"` WHERE `sha256` = ? AND `part` >= ?", sum, parts); err != nil {
		return fmt.Errorf("body %s: %w", sum, err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("body %s: commit: %w", sum, err)
	}
	return nil
}

// ReadBody reads the parts of the body sum in order, as stored: the reader
// checks it against the record (CheckBody), so a part altered, missing or
// added fails there. A body with no part is fs.ErrNotExist.
func (m mysqlBodies) ReadBody(ctx context.Context, sum string) ([]byte, error) {
	if !validBodyName(sum) {
		return nil, fmt.Errorf("body %q: not a hex SHA-256: %w", sum, fs.ErrNotExist)
	}
	rows, err := m.db.QueryContext(ctx, "SELECT `data` FROM `"+MySQLBodyTable+"` WHERE `sha256` = ? ORDER BY `part`", sum)
	if err != nil {
		return nil, fmt.Errorf("body %s: %w", sum, err)
	}
	defer rows.Close()
	var body []byte
	found := false
	for rows.Next() {
		var part sql.RawBytes
		if err := rows.Scan(&part); err != nil {
			return nil, fmt.Errorf("body %s: %w", sum, err)
		}
		if len(body)+len(part) > MaxBodySize {
			return nil, fmt.Errorf("body %s: over %d bytes", sum, MaxBodySize)
		}
		body = append(body, part...)
		found = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("body %s: %w", sum, err)
	}
	if !found {
		return nil, fmt.Errorf("body %s: not in %s: %w", sum, MySQLBodyTable, fs.ErrNotExist)
	}
	if body == nil {
		body = []byte{}
	}
	return body, nil
}
