-- ota-server schema, version 1 (PostgreSQL). Applied in one transaction with its
-- schema_version row. u64 values (report ids, sequences) are stored as their i64 bit pattern.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
-- The ledger of report ids: the primary key makes a redelivered report a no-op, also when two
-- instances receive it at once.
CREATE TABLE reports (
    device TEXT NOT NULL,
    report_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (device, report_id)
);
CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    envelope BYTEA NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    artifacts TEXT NOT NULL
);
CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    release TEXT NOT NULL REFERENCES releases (id),
    open BOOLEAN NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE members (
    deployment TEXT NOT NULL REFERENCES deployments (id),
    device TEXT NOT NULL,
    ring INTEGER NOT NULL,
    idx BIGINT,
    PRIMARY KEY (deployment, device)
);
CREATE INDEX members_by_index ON members (deployment, ring, idx);
CREATE TABLE executions (
    deployment TEXT NOT NULL REFERENCES deployments (id),
    device TEXT NOT NULL,
    status SMALLINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (deployment, device)
);
CREATE INDEX executions_by_status ON executions (deployment, status);
CREATE TABLE execution_history (
    deployment TEXT NOT NULL,
    device TEXT NOT NULL,
    version BIGINT NOT NULL,
    at BIGINT NOT NULL,
    execution TEXT NOT NULL,
    PRIMARY KEY (deployment, device, version)
);
CREATE TABLE twins (
    device TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    document TEXT NOT NULL
);
