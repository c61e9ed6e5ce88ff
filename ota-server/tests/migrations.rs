//! Versioned migrations: applied once, recorded in `schema_version`, idempotent on reopen; a
//! database newer than the library is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ota_server::{Error, PostgresStore, SCHEMA_VERSION, SqliteStore};

#[test]
fn sqlite_schema_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    drop(s);
    // Reopening applies nothing twice (the CREATE TABLEs would fail).
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, SCHEMA_VERSION);
    c.execute("INSERT INTO schema_version VALUES (99, 0)", [])
        .unwrap();
    drop(c);
    assert!(matches!(
        SqliteStore::open(&path),
        Err(Error::SchemaTooNew { found: 99, .. })
    ));
}

#[test]
fn postgres_schema_is_versioned() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let db = cluster.create_db();
    // Two instances starting together migrate once (advisory lock).
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| PostgresStore::connect(&db));
        let b = s.spawn(|| PostgresStore::connect(&db));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut a = a.unwrap();
    drop(b.unwrap());
    assert_eq!(a.schema_version().unwrap(), SCHEMA_VERSION);
    drop(a);
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let rows: i64 = c
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, SCHEMA_VERSION);
    c.execute("INSERT INTO schema_version VALUES (99, 0)", &[])
        .unwrap();
    assert!(matches!(
        PostgresStore::connect(&db),
        Err(Error::SchemaTooNew { found: 99, .. })
    ));
}
