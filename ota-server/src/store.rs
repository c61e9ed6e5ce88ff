//! Storage behind a trait: every state change of the server is one [`Tx`], committed whole or
//! not at all.

use ota_protocol::JobExecution;

use crate::error::Result;
use crate::model::{DeploymentRecord, DeviceRecord, ExecutionRecord, Member, ReleaseRecord};

/// A database the server keeps its state in ([`crate::SqliteStore`], [`crate::PostgresStore`]).
pub trait Store {
    /// A transaction of this store.
    type Tx<'a>: Tx
    where
        Self: 'a;

    /// Starts a transaction. Dropping it without [`Tx::commit`] rolls it back.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn begin(&mut self) -> Result<Self::Tx<'_>>;
}

/// One transaction. Reads of a deployment for a change lock its row
/// ([`Tx::deployment_for_update`]) so that concurrent instances change it one at a time; the
/// lock order is always deployment, then execution, then device.
///
/// # Errors
/// Every method: [`crate::Error::Storage`], [`crate::Error::Conflict`] (retry the whole
/// operation), [`crate::Error::Corrupt`] for a stored value that does not decode.
pub trait Tx {
    /// Commits.
    fn commit(self) -> Result<()>;

    /// Records report `report_id` of `device`; false when it was recorded before (a redelivery).
    fn first_report(&mut self, device: &str, report_id: u64, now: u64) -> Result<bool>;
    /// A device.
    fn device(&mut self, id: &str) -> Result<Option<DeviceRecord>>;
    /// Every device, in id order.
    fn devices(&mut self) -> Result<Vec<DeviceRecord>>;
    /// At most `limit` devices with an id after `after` (all with `None`), in id order: the
    /// fleet a page at a time.
    fn devices_after(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<DeviceRecord>>;
    /// Inserts or replaces a device.
    fn put_device(&mut self, device: &DeviceRecord) -> Result<()>;
    /// Inserts `device` unless a device with its id exists; true when inserted. With
    /// [`Tx::device`] after it, two transactions that see the same new device one after the
    /// other instead of both creating it (the later write would erase the earlier's).
    fn insert_device_if_absent(&mut self, device: &DeviceRecord) -> Result<bool>;

    /// A release.
    fn release(&mut self, id: &str) -> Result<Option<ReleaseRecord>>;
    /// Inserts a release; false when the id is taken.
    fn insert_release(&mut self, release: &ReleaseRecord) -> Result<bool>;

    /// Inserts a deployment; false when the id is taken.
    fn insert_deployment(&mut self, d: &DeploymentRecord) -> Result<bool>;
    /// A deployment, its row locked until the end of the transaction.
    fn deployment_for_update(&mut self, id: &str) -> Result<Option<DeploymentRecord>>;
    /// A deployment, unlocked.
    fn deployment(&mut self, id: &str) -> Result<Option<DeploymentRecord>>;
    /// Replaces a deployment's state (rollout, tally, last time).
    fn update_deployment(&mut self, d: &DeploymentRecord) -> Result<()>;
    /// The ids of the deployments still running or paused.
    fn open_deployments(&mut self) -> Result<Vec<String>>;
    /// The ids of the deployments that are over but still have executions neither terminal
    /// (a late joiner queued just before the rollout completed, an install in progress when it
    /// was aborted without `force`).
    fn closed_deployments_with_open_executions(&mut self) -> Result<Vec<String>>;

    /// Inserts a device's place in a deployment; false when it has one already.
    fn insert_member(&mut self, deployment: &str, device: &str, member: Member) -> Result<bool>;
    /// A device's place in a deployment.
    fn member(&mut self, deployment: &str, device: &str) -> Result<Option<Member>>;
    /// The devices (and their indices) at start indices `first..first + count` of `ring`, in
    /// index order.
    fn members_in_range(
        &mut self,
        deployment: &str,
        ring: usize,
        first: u64,
        count: u64,
    ) -> Result<Vec<(String, u64)>>;
    /// The late joiners of `ring` without an execution yet.
    fn waiting_late_members(&mut self, deployment: &str, ring: usize) -> Result<Vec<String>>;

    /// The execution of a deployment on a device, its row locked until the end of the
    /// transaction.
    fn execution_for_update(
        &mut self,
        deployment: &str,
        device: &str,
    ) -> Result<Option<ExecutionRecord>>;
    /// Inserts or replaces an execution.
    fn put_execution(&mut self, e: &ExecutionRecord) -> Result<()>;
    /// The deployment's executions not in a terminal status, in device order.
    fn open_executions(&mut self, deployment: &str) -> Result<Vec<ExecutionRecord>>;
    /// At most `limit` QUEUED executions of a deployment with a device id after `after` (all
    /// with `None`), in device order.
    fn queued_after(
        &mut self,
        deployment: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>>;
    /// Every execution of a deployment, in device order.
    fn executions(&mut self, deployment: &str) -> Result<Vec<ExecutionRecord>>;
    /// Appends a state to an execution's history; false when that version is there already.
    fn push_history(
        &mut self,
        deployment: &str,
        device: &str,
        e: &JobExecution,
        at: u64,
    ) -> Result<bool>;
    /// An execution's history, in version order.
    fn history(&mut self, deployment: &str, device: &str) -> Result<Vec<JobExecution>>;
    /// One version of an execution's history.
    fn history_version(
        &mut self,
        deployment: &str,
        device: &str,
        version: u64,
    ) -> Result<Option<JobExecution>>;

    /// A device's twin document (`ota-twin` JSON) and version.
    fn twin(&mut self, device: &str) -> Result<Option<String>>;
    /// Inserts or replaces a twin.
    fn put_twin(&mut self, device: &str, document: &str, version: u64) -> Result<()>;
}
