//! The device report's CBOR reader.

use std::collections::{BTreeMap, HashSet};

use crate::cbor::{Keys, Reader, err};
use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;
use crate::report::{DeviceReport, InstalledComponent, Slot};
use crate::schema::{installed, report as rk};

use super::execution::code_of;
use super::{at, need, unknown_key};

pub(super) fn read_report(
    r: &mut Reader<'_>,
    map_at: usize,
    n: usize,
    mut keys: Keys,
    l: &Limits,
) -> Result<DeviceReport> {
    let (mut id, mut sent_at, mut boots, mut loops) = (None, None, None, None);
    let mut out = DeviceReport {
        report_id: 0,
        sent_at: 0,
        installed: Vec::new(),
        active_slot: None,
        boot_count: 0,
        reboot_loops: 0,
        uptime_since_install: None,
        health: BTreeMap::new(),
    };
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        match k {
            rk::REPORT_ID => id = Some(r.uint().map_err(at("report_id"))?),
            rk::SENT_AT => sent_at = Some(r.uint().map_err(at("sent_at"))?),
            rk::INSTALLED => out.installed = read_installed(r, l).map_err(at("installed"))?,
            rk::ACTIVE_SLOT => {
                out.active_slot =
                    Some(code_of(r, "slot", Slot::from_code).map_err(at("active_slot"))?);
            }
            rk::BOOT_COUNT => boots = Some(r.uint().map_err(at("boot_count"))?),
            rk::REBOOT_LOOPS => loops = Some(r.uint().map_err(at("reboot_loops"))?),
            rk::UPTIME_SINCE_INSTALL => {
                out.uptime_since_install = Some(r.uint().map_err(at("uptime_since_install"))?);
            }
            rk::HEALTH => out.health = read_health(r, l).map_err(at("health"))?,
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    out.report_id = need(id, map_at, "report_id")?;
    out.sent_at = need(sent_at, map_at, "sent_at")?;
    out.boot_count = need(boots, map_at, "boot_count")?;
    out.reboot_loops = need(loops, map_at, "reboot_loops")?;
    Ok(out)
}

fn read_installed(r: &mut Reader<'_>, l: &Limits) -> Result<Vec<InstalledComponent>> {
    let n = r.list(Limit::Installed, l.max_installed)?;
    let mut out = Vec::with_capacity(n);
    let mut ids = HashSet::with_capacity(n);
    for i in 0..n {
        let (map_at, m) = r.map().map_err(|e| e.in_index(i))?;
        let mut keys = Keys::new();
        let (mut id, mut version, mut sha256) = (None, None, None);
        for _ in 0..m {
            let (k_at, k) = r.key(&mut keys).map_err(|e| e.in_index(i))?;
            let p = r.pos();
            let idx = |name: &'static str| move |e: Error| e.in_field(name).in_index(i);
            match k {
                installed::ID => {
                    let t = r
                        .text(Limit::TextBytes, l.max_text_bytes, false)
                        .map_err(idx("id"))?;
                    id = Some((p, t));
                }
                installed::VERSION => {
                    let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                    version = Some(t.map_err(idx("version"))?);
                }
                installed::SHA256 => sha256 = Some(r.sha256().map_err(idx("sha256"))?),
                _ => return Err(unknown_key(k_at, k).in_index(i)),
            }
        }
        let (p, id) = need(id, map_at, "id").map_err(|e| e.in_index(i))?;
        if !ids.insert(id.clone()) {
            let e = err(p, DecodeError::DuplicateComponent(id)).in_field("id");
            return Err(e.in_index(i));
        }
        let version = need(version, map_at, "version").map_err(|e| e.in_index(i))?;
        out.push(InstalledComponent {
            id,
            version,
            sha256,
        });
    }
    Ok(out)
}

fn read_health(r: &mut Reader<'_>, l: &Limits) -> Result<BTreeMap<String, f64>> {
    let n = r.bounded_map(Limit::Metrics, l.max_metrics)?;
    let mut keys = Keys::new();
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let (_, name) = r.text_key(&mut keys, Limit::TextBytes, l.max_text_bytes)?;
        let v = r.float().map_err(|e| e.in_field(name))?;
        out.insert(name.to_owned(), v);
    }
    Ok(out)
}
