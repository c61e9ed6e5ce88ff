//! Downloading: every component fetched (full image by chunks, or a patch frame by frame) into
//! its staging area, progress persisted after each durable piece, then the stored bytes re-hashed.

use ota_manifest::{Action, Component};
use ota_verify::{ChunkVerifier, DigestVerifier, Sha256};

use super::{Agent, Env, Progress, find};
use crate::boot::BootControl;
use crate::delta::{self, Flow, fetch_exact, fetch_flow, installer_flow};
use crate::error::Result;
use crate::fetch::{Fetch, Resource};
use crate::install::Installer;
use crate::outcome::{Reason, Stage, State};
use crate::record::Target;
use crate::store::Store;

impl<S: Store, B: BootControl> Agent<S, B> {
    pub(super) fn download(&mut self, env: &mut Env<'_, '_>) -> Result<Option<Progress>> {
        let Some(rel) = env.release else {
            return Ok(Some(Progress::ReleaseNeeded));
        };
        if *rel.digest() != self.rec.release {
            // Another release supersedes the one being downloaded.
            self.conclude(State::Failed, Stage::Download, Reason::Cancelled)?;
            return Ok(None);
        }
        while usize::from(self.rec.comp_index) < self.rec.components.len() {
            let t = self.rec.components[usize::from(self.rec.comp_index)].clone();
            let comp = rel.manifest().components.iter().find(|c| c.id == t.id);
            let step = rel.plan().steps.iter().find(|s| s.component == t.id);
            let inst = find(env.installers, &t.id, t.layer);
            let (Some(comp), Some(step), Some(inst)) = (comp, step, inst) else {
                self.conclude(State::Failed, Stage::Install, Reason::UnsupportedPackage)?;
                return Ok(None);
            };
            let flow = match &step.action {
                Action::Full { .. } => self.fetch_full(env.fetch, inst, &t, comp)?,
                Action::Delta(d) => {
                    let what = Resource::Patch {
                        component: &t.id,
                        from_sha256: &d.from_sha256.0,
                        patch_sha256: &d.patch_sha256.0,
                    };
                    let cursor = self.rec.cursor;
                    delta::apply(env.fetch, &what, inst, &t, cursor, &mut |c| {
                        self.rec.cursor = Some(c);
                        self.save()
                    })?
                }
                _ => Flow::Fail(Stage::Decide, Reason::UnsupportedPackage),
            };
            match flow {
                Flow::Done => {
                    self.rec.comp_index += 1;
                    self.rec.offset = 0;
                    self.rec.cursor = None;
                    self.save()?;
                }
                Flow::Fail(stage, reason) => {
                    self.rec.offset = 0;
                    self.rec.cursor = None;
                    self.conclude(State::Failed, stage, reason)?;
                    return Ok(None);
                }
                Flow::Interrupted(e) => return Ok(Some(Progress::Interrupted(e))),
                // The staged prefix does not match the persisted cursor (a write that did not
                // stick, or someone else wrote the slot): forget the cursor and apply again
                // from byte 0, once per update; a second mismatch fails the update.
                Flow::Restart if !self.rec.restarted => {
                    self.rec.restarted = true;
                    self.rec.offset = 0;
                    self.rec.cursor = None;
                    self.save()?;
                }
                Flow::Restart => {
                    self.rec.offset = 0;
                    self.rec.cursor = None;
                    self.conclude(State::Failed, Stage::Verify, Reason::IntegrityCheckFailure)?;
                    return Ok(None);
                }
            }
        }
        match self.verify_stored(env.installers)? {
            None => self.set(State::Staged)?,
            Some((stage, reason)) => self.conclude(State::Failed, stage, reason)?,
        }
        Ok(None)
    }

    fn fetch_full(
        &mut self,
        fetch: &mut dyn Fetch,
        inst: &mut dyn Installer,
        t: &Target,
        comp: &Component,
    ) -> Result<Flow> {
        let chunk = comp
            .chunks
            .as_ref()
            .map_or(self.cfg.chunk_size, |c| c.chunk_size)
            .max(1);
        let table: Option<Vec<u8>> = comp
            .chunks
            .as_ref()
            .map(|c| c.sha256.iter().flat_map(|d| d.0).collect());
        let mut offset = self.rec.offset / u64::from(chunk) * u64::from(chunk);
        let mut verifier = match &table {
            Some(tb) => match ChunkVerifier::resume(t.size, chunk, tb, offset / u64::from(chunk)) {
                Ok(v) => Some(v),
                Err(_) => return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure)),
            },
            None => None,
        };
        let what = Resource::Image {
            component: &t.id,
            sha256: &t.sha256,
        };
        if chunk > self.cfg.max_chunk.max(1) {
            return Ok(Flow::Fail(Stage::Download, Reason::OutOfMemory));
        }
        // Never more than the image: a one-chunk table of a small image needs a small buffer.
        let mut buf = vec![0u8; u64::from(chunk).min(t.size).max(1) as usize];
        while offset < t.size {
            let n = (t.size - offset).min(u64::from(chunk)) as usize;
            match fetch_exact(fetch, &what, offset, &mut buf[..n]) {
                Ok(true) => {}
                Ok(false) => return Ok(Flow::Fail(Stage::Download, Reason::IntegrityCheckFailure)),
                Err(e) => return Ok(fetch_flow(e)),
            }
            if let Some(v) = verifier.as_mut()
                && v.verify_chunk(&buf[..n]).is_err()
            {
                return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure));
            }
            if let Err(e) = inst.write(t, offset, &buf[..n]).and_then(|()| inst.sync(t)) {
                return installer_flow(e);
            }
            offset += n as u64;
            self.rec.offset = offset;
            self.save()?;
        }
        Ok(Flow::Done)
    }

    /// Re-reads every staged component and checks it against its signed size and SHA-256.
    pub(super) fn verify_stored(
        &mut self,
        installers: &mut [&mut dyn Installer],
    ) -> Result<Option<(Stage, Reason)>> {
        let mut buf = vec![0u8; 4096];
        for t in &self.rec.components {
            let Some(inst) = find(installers, &t.id, t.layer) else {
                return Ok(Some((Stage::Install, Reason::UnsupportedPackage)));
            };
            let mut v = DigestVerifier::new(t.size, Sha256(t.sha256));
            let mut off = 0u64;
            while off < t.size {
                let n = (t.size - off).min(buf.len() as u64) as usize;
                if let Err(e) = inst.read(t, off, &mut buf[..n]) {
                    return match installer_flow(e)? {
                        Flow::Fail(s, r) => Ok(Some((s, r))),
                        _ => Ok(Some((Stage::Install, Reason::InstallFailed))),
                    };
                }
                if v.update(&buf[..n]).is_err() {
                    return Ok(Some((Stage::Verify, Reason::IntegrityCheckFailure)));
                }
                off += n as u64;
            }
            if v.finish().is_err() {
                return Ok(Some((Stage::Verify, Reason::IntegrityCheckFailure)));
            }
        }
        Ok(None)
    }
}
