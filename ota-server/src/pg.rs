//! The PostgreSQL backend: row locks (`SELECT … FOR UPDATE`) and unique keys let several
//! server instances share one database.

use std::collections::HashMap;

use ota_protocol::JobExecution;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement, Transaction};

use crate::error::{Error, Result};
use crate::model::{DeploymentRecord, DeviceRecord, ExecutionRecord, Member, ReleaseRecord};
use crate::record::{MIGRATIONS, SCHEMA_VERSION, decode, encode, from_i64, to_i64};
use crate::store::{Store, Tx};

/// The server's state in a PostgreSQL database, for fleets that outgrow one machine and for
/// several instances over one database.
pub struct PostgresStore {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

fn err(op: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| {
        let retry = e.code().is_some_and(|c| {
            *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        });
        let detail = match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        };
        if retry {
            Error::Conflict { op, detail }
        } else {
            Error::Storage { op, detail }
        }
    }
}

/// Serialises migrations of concurrent instances (`pg_advisory_xact_lock` key).
const MIGRATION_LOCK: i64 = 0x6f74_615f_7372_7601;

impl PostgresStore {
    /// Connects with a libpq-style parameter string (`host=/tmp/pg port=5432 user=ota
    /// dbname=ota`), without TLS (a unix socket or a trusted network; terminate TLS in front
    /// otherwise), and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::Storage`], [`Error::SchemaTooNew`].
    pub fn connect(params: &str) -> Result<Self> {
        let client = Client::connect(params, NoTls).map_err(err("connect"))?;
        let mut store = PostgresStore {
            client,
            statements: HashMap::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the database.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn schema_version(&mut self) -> Result<i64> {
        self.client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .and_then(|r| r.try_get(0))
            .map_err(err("schema version"))
    }

    fn migrate(&mut self) -> Result<()> {
        let mut tx = self.client.transaction().map_err(err("migrate"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(err("migration lock"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .map_err(err("schema_version table"))?;
        let current: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .and_then(|r| r.try_get(0))
            .map_err(err("schema version"))?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.batch_execute(m.postgres).map_err(err("migration"))?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                &[&m.version],
            )
            .map_err(err("schema version"))?;
        }
        tx.commit().map_err(err("migrate commit"))
    }
}

/// A transaction of [`PostgresStore`].
pub struct PostgresTx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Store for PostgresStore {
    type Tx<'a> = PostgresTx<'a>;

    fn begin(&mut self) -> Result<PostgresTx<'_>> {
        let tx = self.client.transaction().map_err(err("begin"))?;
        Ok(PostgresTx {
            tx,
            statements: &mut self.statements,
        })
    }
}

type Args<'r> = &'r [&'r (dyn ToSql + Sync)];

impl PostgresTx<'_> {
    /// The prepared statement of `sql` (prepared once per connection).
    fn statement(&mut self, op: &'static str, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(err(op))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn rows(
        &mut self,
        op: &'static str,
        sql: &'static str,
        args: Args<'_>,
    ) -> Result<Vec<postgres::Row>> {
        let s = self.statement(op, sql)?;
        self.tx.query(&s, args).map_err(err(op))
    }

    fn exec(&mut self, op: &'static str, sql: &'static str, args: Args<'_>) -> Result<u64> {
        let s = self.statement(op, sql)?;
        self.tx.execute(&s, args).map_err(err(op))
    }

    fn texts(
        &mut self,
        op: &'static str,
        sql: &'static str,
        args: Args<'_>,
    ) -> Result<Vec<String>> {
        self.rows(op, sql, args)?
            .iter()
            .map(|r| r.try_get::<_, String>(0).map_err(err(op)))
            .collect()
    }

    fn one<T: serde::de::DeserializeOwned>(
        &mut self,
        op: &'static str,
        table: &'static str,
        key: &str,
        sql: &'static str,
        args: Args<'_>,
    ) -> Result<Option<T>> {
        self.texts(op, sql, args)?
            .first()
            .map(|t| decode(table, key, t))
            .transpose()
    }

    fn many<T: serde::de::DeserializeOwned>(
        &mut self,
        op: &'static str,
        table: &'static str,
        key: &str,
        sql: &'static str,
        args: Args<'_>,
    ) -> Result<Vec<T>> {
        self.texts(op, sql, args)?
            .iter()
            .map(|t| decode(table, key, t))
            .collect()
    }
}

fn ring_i32(ring: usize) -> i32 {
    i32::try_from(ring).unwrap_or(i32::MAX)
}

impl Tx for PostgresTx<'_> {
    fn commit(self) -> Result<()> {
        self.tx.commit().map_err(err("commit"))
    }

    fn first_report(&mut self, device: &str, report_id: u64, now: u64) -> Result<bool> {
        let n = self.exec(
            "insert report",
            "INSERT INTO reports (device, report_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&device, &to_i64(report_id), &to_i64(now)],
        )?;
        Ok(n == 1)
    }

    fn device(&mut self, id: &str) -> Result<Option<DeviceRecord>> {
        self.one(
            "device",
            "devices",
            id,
            "SELECT record FROM devices WHERE id = $1 FOR UPDATE",
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
            "SELECT record FROM devices WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )
    }

    fn put_device(&mut self, d: &DeviceRecord) -> Result<()> {
        let text = encode("devices", &d.id, d)?;
        self.exec(
            "put device",
            "INSERT INTO devices (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
            &[&d.id, &text],
        )?;
        Ok(())
    }

    fn insert_device_if_absent(&mut self, d: &DeviceRecord) -> Result<bool> {
        let text = encode("devices", &d.id, d)?;
        let n = self.exec(
            "insert device",
            "INSERT INTO devices (id, record) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[&d.id, &text],
        )?;
        Ok(n == 1)
    }

    fn release(&mut self, id: &str) -> Result<Option<ReleaseRecord>> {
        let rows = self.rows(
            "release",
            "SELECT envelope, name, version, sequence, artifacts FROM releases WHERE id = $1",
            &[&id],
        )?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let e = err("release");
        let artifacts: String = r.try_get(4).map_err(&e)?;
        Ok(Some(ReleaseRecord {
            id: id.to_owned(),
            envelope: r.try_get(0).map_err(&e)?,
            name: r.try_get(1).map_err(&e)?,
            version: r.try_get(2).map_err(&e)?,
            sequence: from_i64(r.try_get(3).map_err(&e)?),
            artifacts: decode("releases", id, &artifacts)?,
        }))
    }

    fn insert_release(&mut self, r: &ReleaseRecord) -> Result<bool> {
        let artifacts = encode("releases", &r.id, &r.artifacts)?;
        let n = self.exec(
            "insert release",
            "INSERT INTO releases (id, envelope, name, version, sequence, artifacts) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&r.id, &r.envelope, &r.name, &r.version, &to_i64(r.sequence), &artifacts],
        )?;
        Ok(n == 1)
    }

    fn insert_deployment(&mut self, d: &DeploymentRecord) -> Result<bool> {
        let text = encode("deployments", &d.id, d)?;
        let n = self.exec(
            "insert deployment",
            "INSERT INTO deployments (id, release, open, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&d.id, &d.release, &d.is_open(), &text],
        )?;
        Ok(n == 1)
    }

    fn deployment_for_update(&mut self, id: &str) -> Result<Option<DeploymentRecord>> {
        self.one(
            "lock deployment",
            "deployments",
            id,
            "SELECT record FROM deployments WHERE id = $1 FOR UPDATE",
            &[&id],
        )
    }

    fn deployment(&mut self, id: &str) -> Result<Option<DeploymentRecord>> {
        self.one(
            "deployment",
            "deployments",
            id,
            "SELECT record FROM deployments WHERE id = $1",
            &[&id],
        )
    }

    fn update_deployment(&mut self, d: &DeploymentRecord) -> Result<()> {
        let text = encode("deployments", &d.id, d)?;
        self.exec(
            "update deployment",
            "UPDATE deployments SET open = $2, record = $3 WHERE id = $1",
            &[&d.id, &d.is_open(), &text],
        )?;
        Ok(())
    }

    fn closed_deployments_with_open_executions(&mut self) -> Result<Vec<String>> {
        self.texts(
            "closed deployments with open executions",
            "SELECT d.id FROM deployments d WHERE NOT d.open AND EXISTS (SELECT 1 FROM executions e WHERE e.deployment = d.id AND e.status IN (0, 1)) ORDER BY d.id",
            &[],
        )
    }

    fn open_deployments(&mut self) -> Result<Vec<String>> {
        self.texts(
            "open deployments",
            "SELECT id FROM deployments WHERE open ORDER BY id",
            &[],
        )
    }

    fn insert_member(&mut self, deployment: &str, device: &str, m: Member) -> Result<bool> {
        let n = self.exec(
            "insert member",
            "INSERT INTO members (deployment, device, ring, idx) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&deployment, &device, &ring_i32(m.ring), &m.index.map(to_i64)],
        )?;
        Ok(n == 1)
    }

    fn member(&mut self, deployment: &str, device: &str) -> Result<Option<Member>> {
        let rows = self.rows(
            "member",
            "SELECT ring, idx FROM members WHERE deployment = $1 AND device = $2",
            &[&deployment, &device],
        )?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let e = err("member");
        let ring: i32 = r.try_get(0).map_err(&e)?;
        let idx: Option<i64> = r.try_get(1).map_err(&e)?;
        Ok(Some(Member {
            ring: usize::try_from(ring).map_err(|e| Error::corrupt("members", device, e))?,
            index: idx.map(from_i64),
        }))
    }

    fn members_in_range(
        &mut self,
        deployment: &str,
        ring: usize,
        first: u64,
        count: u64,
    ) -> Result<Vec<(String, u64)>> {
        let op = "members in range";
        self.rows(
            op,
            "SELECT device, idx FROM members WHERE deployment = $1 AND ring = $2 AND idx >= $3 AND idx < $4 ORDER BY idx",
            &[
                &deployment,
                &ring_i32(ring),
                &to_i64(first),
                &to_i64(first.saturating_add(count)),
            ],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<_, String>(0).map_err(err(op))?,
                from_i64(r.try_get::<_, i64>(1).map_err(err(op))?),
            ))
        })
        .collect()
    }

    fn waiting_late_members(&mut self, deployment: &str, ring: usize) -> Result<Vec<String>> {
        self.texts(
            "waiting late members",
            "SELECT m.device FROM members m WHERE m.deployment = $1 AND m.ring = $2 AND m.idx IS NULL \
             AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.deployment = m.deployment AND e.device = m.device) \
             ORDER BY m.device",
            &[&deployment, &ring_i32(ring)],
        )
    }

    fn execution_for_update(
        &mut self,
        deployment: &str,
        device: &str,
    ) -> Result<Option<ExecutionRecord>> {
        self.one(
            "lock execution",
            "executions",
            device,
            "SELECT record FROM executions WHERE deployment = $1 AND device = $2 FOR UPDATE",
            &[&deployment, &device],
        )
    }

    fn put_execution(&mut self, e: &ExecutionRecord) -> Result<()> {
        let text = encode("executions", &e.device, e)?;
        self.exec(
            "put execution",
            "INSERT INTO executions (deployment, device, status, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (deployment, device) DO UPDATE SET status = excluded.status, record = excluded.record",
            &[
                &e.deployment,
                &e.device,
                &i16::from(e.execution.status.kind().code()),
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
            "SELECT record FROM executions WHERE deployment = $1 AND status IN (0, 1) ORDER BY device",
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
            "SELECT record FROM executions WHERE deployment = $1 AND status = 0 AND device > $2 ORDER BY device LIMIT $3",
            &[&deployment, &after, &limit],
        )
    }

    fn executions(&mut self, deployment: &str) -> Result<Vec<ExecutionRecord>> {
        self.many(
            "executions",
            "executions",
            deployment,
            "SELECT record FROM executions WHERE deployment = $1 ORDER BY device",
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
            "INSERT INTO execution_history (deployment, device, version, at, execution) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&deployment, &device, &to_i64(e.version), &to_i64(at), &text],
        )?;
        Ok(n == 1)
    }

    fn history(&mut self, deployment: &str, device: &str) -> Result<Vec<JobExecution>> {
        self.many(
            "history",
            "execution_history",
            device,
            "SELECT execution FROM execution_history WHERE deployment = $1 AND device = $2 ORDER BY version",
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
            "SELECT execution FROM execution_history WHERE deployment = $1 AND device = $2 AND version = $3",
            &[&deployment, &device, &to_i64(version)],
        )
    }

    fn twin(&mut self, device: &str) -> Result<Option<String>> {
        Ok(self
            .texts(
                "twin",
                "SELECT document FROM twins WHERE device = $1 FOR UPDATE",
                &[&device],
            )?
            .into_iter()
            .next())
    }

    fn put_twin(&mut self, device: &str, document: &str, version: u64) -> Result<()> {
        self.exec(
            "put twin",
            "INSERT INTO twins (device, version, document) VALUES ($1, $2, $3) \
             ON CONFLICT (device) DO UPDATE SET version = excluded.version, document = excluded.document",
            &[&device, &to_i64(version), &document],
        )?;
        Ok(())
    }
}
