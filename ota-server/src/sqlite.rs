//! The SQLite backend: one file, writers serialised by `BEGIN IMMEDIATE`.

use std::path::Path;
use std::time::Duration;

use ota_protocol::JobExecution;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::error::{Error, Result};
use crate::model::{DeploymentRecord, DeviceRecord, ExecutionRecord, Member, ReleaseRecord};
use crate::record::{MIGRATIONS, SCHEMA_VERSION, decode, encode, from_i64, to_i64};
use crate::store::{Store, Tx};

/// The server's state in an SQLite database file (the embedded default).
pub struct SqliteStore {
    conn: Connection,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn err(op: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| {
        let busy = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        if busy {
            Error::Conflict {
                op,
                detail: e.to_string(),
            }
        } else {
            Error::Storage {
                op,
                detail: e.to_string(),
            }
        }
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `path` and brings its schema up to date.
    /// WAL journal, `synchronous = FULL` (a committed transaction survives a power cut), a
    /// 10 s busy timeout for other processes on the same file.
    ///
    /// # Errors
    /// [`Error::Storage`], [`Error::SchemaTooNew`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open(path).map_err(err("open"))?;
        Self::setup(conn)
    }

    /// A database in memory (for tests and trials; gone when dropped).
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(err("open"))?;
        Self::setup(conn)
    }

    fn setup(conn: Connection) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(err("busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("journal mode"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err("synchronous"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err("foreign keys"))?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the database.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(err("schema version"))
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("migrate"))?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .map_err(err("schema_version table"))?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(err("schema version"))?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.execute_batch(m.sqlite).map_err(err("migration"))?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, strftime('%s','now'))",
                params![m.version],
            )
            .map_err(err("schema version"))?;
        }
        tx.commit().map_err(err("migrate commit"))
    }
}

/// A transaction of [`SqliteStore`].
pub struct SqliteTx<'a> {
    tx: Transaction<'a>,
}

impl Store for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn begin(&mut self) -> Result<SqliteTx<'_>> {
        // IMMEDIATE takes the write lock at once: two writers never both read, then both fail
        // to upgrade (SQLITE_BUSY without the busy handler).
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("begin"))?;
        Ok(SqliteTx { tx })
    }
}

impl SqliteTx<'_> {
    fn one<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        table: &'static str,
        key: &str,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<T>> {
        let text: Option<String> = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(args, |r| r.get(0)).optional())
            .map_err(err(op))?;
        text.map(|t| decode(table, key, &t)).transpose()
    }

    fn many<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        table: &'static str,
        key: &str,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<T>> {
        let texts: Vec<String> = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_map(args, |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err(op))?;
        texts.iter().map(|t| decode(table, key, t)).collect()
    }

    fn exec(&self, op: &'static str, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize> {
        self.tx
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(args))
            .map_err(err(op))
    }

    fn strings(
        &self,
        op: &'static str,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<String>> {
        self.tx
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_map(args, |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err(op))
    }
}

impl Tx for SqliteTx<'_> {
    fn commit(self) -> Result<()> {
        self.tx.commit().map_err(err("commit"))
    }

    fn first_report(&mut self, device: &str, report_id: u64, now: u64) -> Result<bool> {
        let n = self.exec(
            "insert report",
            "INSERT INTO reports (device, report_id, received_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            &[&device, &to_i64(report_id), &to_i64(now)],
        )?;
        Ok(n == 1)
    }

    fn device(&mut self, id: &str) -> Result<Option<DeviceRecord>> {
        self.one(
            "device",
            "devices",
            id,
            "SELECT record FROM devices WHERE id = ?1",
            &[&id],
        )
    }

    fn devices(&mut self) -> Result<Vec<DeviceRecord>> {
        self.many(
            "devices",
            "devices",
            "*",
            "SELECT record FROM devices ORDER BY id",
            &[],
        )
    }

    fn devices_after(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<DeviceRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.unwrap_or("");
        self.many(
            "devices page",
            "devices",
            after,
            "SELECT record FROM devices WHERE id > ?1 ORDER BY id LIMIT ?2",
            &[&after, &limit],
        )
    }

    fn put_device(&mut self, d: &DeviceRecord) -> Result<()> {
        let text = encode("devices", &d.id, d)?;
        self.exec(
            "put device",
            "INSERT INTO devices (id, record) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
            &[&d.id, &text],
        )?;
        Ok(())
    }

    fn insert_device_if_absent(&mut self, d: &DeviceRecord) -> Result<bool> {
        let text = encode("devices", &d.id, d)?;
        let n = self.exec(
            "insert device",
            "INSERT INTO devices (id, record) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            &[&d.id, &text],
        )?;
        Ok(n == 1)
    }

    fn release(&mut self, id: &str) -> Result<Option<ReleaseRecord>> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT envelope, name, version, sequence, artifacts FROM releases WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([id], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .optional()
            })
            .map_err(err("release"))?;
        let Some((envelope, name, version, sequence, artifacts)) = row else {
            return Ok(None);
        };
        Ok(Some(ReleaseRecord {
            id: id.to_owned(),
            envelope,
            name,
            version,
            sequence: from_i64(sequence),
            artifacts: decode("releases", id, &artifacts)?,
        }))
    }

    fn insert_release(&mut self, r: &ReleaseRecord) -> Result<bool> {
        let artifacts = encode("releases", &r.id, &r.artifacts)?;
        let n = self.exec(
            "insert release",
            "INSERT INTO releases (id, envelope, name, version, sequence, artifacts) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            &[&r.id, &r.envelope, &r.name, &r.version, &to_i64(r.sequence), &artifacts],
        )?;
        Ok(n == 1)
    }

    fn insert_deployment(&mut self, d: &DeploymentRecord) -> Result<bool> {
        let text = encode("deployments", &d.id, d)?;
        let n = self.exec(
            "insert deployment",
            "INSERT INTO deployments (id, release, open, record) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            &[&d.id, &d.release, &d.is_open(), &text],
        )?;
        Ok(n == 1)
    }

    fn deployment_for_update(&mut self, id: &str) -> Result<Option<DeploymentRecord>> {
        // The whole transaction holds SQLite's write lock already.
        self.deployment(id)
    }

    fn deployment(&mut self, id: &str) -> Result<Option<DeploymentRecord>> {
        self.one(
            "deployment",
            "deployments",
            id,
            "SELECT record FROM deployments WHERE id = ?1",
            &[&id],
        )
    }

    fn update_deployment(&mut self, d: &DeploymentRecord) -> Result<()> {
        let text = encode("deployments", &d.id, d)?;
        self.exec(
            "update deployment",
            "UPDATE deployments SET open = ?2, record = ?3 WHERE id = ?1",
            &[&d.id, &d.is_open(), &text],
        )?;
        Ok(())
    }

    fn closed_deployments_with_open_executions(&mut self) -> Result<Vec<String>> {
        self.strings(
            "closed deployments with open executions",
            "SELECT d.id FROM deployments d WHERE NOT d.open AND EXISTS (SELECT 1 FROM executions e WHERE e.deployment = d.id AND e.status IN (0, 1)) ORDER BY d.id",
            &[],
        )
    }

    fn open_deployments(&mut self) -> Result<Vec<String>> {
        self.strings(
            "open deployments",
            "SELECT id FROM deployments WHERE open ORDER BY id",
            &[],
        )
    }

    fn insert_member(&mut self, deployment: &str, device: &str, m: Member) -> Result<bool> {
        let n = self.exec(
            "insert member",
            "INSERT INTO members (deployment, device, ring, idx) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            &[&deployment, &device, &(m.ring as i64), &m.index.map(to_i64)],
        )?;
        Ok(n == 1)
    }

    fn member(&mut self, deployment: &str, device: &str) -> Result<Option<Member>> {
        let row: Option<(i64, Option<i64>)> = self
            .tx
            .prepare_cached("SELECT ring, idx FROM members WHERE deployment = ?1 AND device = ?2")
            .and_then(|mut s| {
                s.query_row([deployment, device], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(err("member"))?;
        row.map(|(ring, idx)| {
            Ok(Member {
                ring: usize::try_from(ring).map_err(|e| Error::corrupt("members", device, e))?,
                index: idx.map(from_i64),
            })
        })
        .transpose()
    }

    fn members_in_range(
        &mut self,
        deployment: &str,
        ring: usize,
        first: u64,
        count: u64,
    ) -> Result<Vec<(String, u64)>> {
        self.tx
            .prepare_cached(
                "SELECT device, idx FROM members WHERE deployment = ?1 AND ring = ?2 AND idx >= ?3 AND idx < ?4 ORDER BY idx",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![
                        deployment,
                        ring as i64,
                        to_i64(first),
                        to_i64(first.saturating_add(count))
                    ],
                    |r| Ok((r.get::<_, String>(0)?, from_i64(r.get::<_, i64>(1)?))),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err("members in range"))
    }

    fn waiting_late_members(&mut self, deployment: &str, ring: usize) -> Result<Vec<String>> {
        self.strings(
            "waiting late members",
            "SELECT m.device FROM members m WHERE m.deployment = ?1 AND m.ring = ?2 AND m.idx IS NULL \
             AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.deployment = m.deployment AND e.device = m.device) \
             ORDER BY m.device",
            &[&deployment, &(ring as i64)],
        )
    }

    fn execution_for_update(
        &mut self,
        deployment: &str,
        device: &str,
    ) -> Result<Option<ExecutionRecord>> {
        self.one(
            "execution",
            "executions",
            device,
            "SELECT record FROM executions WHERE deployment = ?1 AND device = ?2",
            &[&deployment, &device],
        )
    }

    fn put_execution(&mut self, e: &ExecutionRecord) -> Result<()> {
        let text = encode("executions", &e.device, e)?;
        self.exec(
            "put execution",
            "INSERT INTO executions (deployment, device, status, record) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (deployment, device) DO UPDATE SET status = excluded.status, record = excluded.record",
            &[
                &e.deployment,
                &e.device,
                &i64::from(e.execution.status.kind().code()),
                &text,
            ],
        )?;
        Ok(())
    }

    fn open_executions(&mut self, deployment: &str) -> Result<Vec<ExecutionRecord>> {
        self.many(
            "open executions",
            "executions",
            deployment,
            "SELECT record FROM executions WHERE deployment = ?1 AND status IN (0, 1) ORDER BY device",
            &[&deployment],
        )
    }

    fn queued_after(
        &mut self,
        deployment: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.unwrap_or("");
        self.many(
            "queued executions page",
            "executions",
            deployment,
            "SELECT record FROM executions WHERE deployment = ?1 AND status = 0 AND device > ?2 ORDER BY device LIMIT ?3",
            &[&deployment, &after, &limit],
        )
    }

    fn executions(&mut self, deployment: &str) -> Result<Vec<ExecutionRecord>> {
        self.many(
            "executions",
            "executions",
            deployment,
            "SELECT record FROM executions WHERE deployment = ?1 ORDER BY device",
            &[&deployment],
        )
    }

    fn push_history(
        &mut self,
        deployment: &str,
        device: &str,
        e: &JobExecution,
        at: u64,
    ) -> Result<bool> {
        let text = encode("execution_history", device, e)?;
        let n = self.exec(
            "push history",
            "INSERT INTO execution_history (deployment, device, version, at, execution) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            &[&deployment, &device, &to_i64(e.version), &to_i64(at), &text],
        )?;
        Ok(n == 1)
    }

    fn history(&mut self, deployment: &str, device: &str) -> Result<Vec<JobExecution>> {
        self.many(
            "history",
            "execution_history",
            device,
            "SELECT execution FROM execution_history WHERE deployment = ?1 AND device = ?2 ORDER BY version",
            &[&deployment, &device],
        )
    }

    fn history_version(
        &mut self,
        deployment: &str,
        device: &str,
        version: u64,
    ) -> Result<Option<JobExecution>> {
        self.one(
            "history version",
            "execution_history",
            device,
            "SELECT execution FROM execution_history WHERE deployment = ?1 AND device = ?2 AND version = ?3",
            &[&deployment, &device, &to_i64(version)],
        )
    }

    fn twin(&mut self, device: &str) -> Result<Option<String>> {
        self.tx
            .prepare_cached("SELECT document FROM twins WHERE device = ?1")
            .and_then(|mut s| s.query_row([device], |r| r.get(0)).optional())
            .map_err(err("twin"))
    }

    fn put_twin(&mut self, device: &str, document: &str, version: u64) -> Result<()> {
        self.exec(
            "put twin",
            "INSERT INTO twins (device, version, document) VALUES (?1, ?2, ?3) \
             ON CONFLICT (device) DO UPDATE SET version = excluded.version, document = excluded.document",
            &[&device, &to_i64(version), &document],
        )?;
        Ok(())
    }
}
