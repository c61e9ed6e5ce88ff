//! Consistency of a manifest on its own, and the dependency order.

use std::collections::{BTreeSet, HashMap};

use crate::cra::UpdateClass;
use crate::error::{Invalid, Problem};
use crate::model::Manifest;

fn invalid(component: Option<&str>, problem: Problem) -> Invalid {
    Invalid {
        component: component.map(str::to_owned),
        problem,
    }
}

impl Manifest {
    /// Checks the release for internal inconsistencies: no components, duplicate ids, no device
    /// class or hardware named, expiry or support end not after issue, CVE ids on a component
    /// that is not a security update or listed twice, chunk digests that do not cover the image,
    /// unusable or duplicate delta sources, dependencies on itself, twice, on a shipped component
    /// at a non-matching version, and dependency cycles.
    ///
    /// # Errors
    /// The first [`Invalid`] found, naming the component (or `None` for the release).
    pub fn validate(&self) -> Result<(), Invalid> {
        self.install_order().map(|_| ())
    }

    /// The indices of the components in install order: every component after the components of
    /// this release it depends on; among independent ones, lower `order` first, then manifest
    /// order. Runs [`Manifest::validate`]'s checks.
    ///
    /// # Errors
    /// As [`Manifest::validate`].
    pub fn install_order(&self) -> Result<Vec<usize>, Invalid> {
        self.check_release()?;
        let index: HashMap<&str, usize> = self
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        // deps[i]: indices of the components of this release that i depends on.
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(self.components.len());
        for c in &self.components {
            let mut ds = Vec::new();
            for d in &c.dependencies {
                if let Some(&j) = index.get(d.id.as_str()) {
                    ds.push(j);
                }
            }
            deps.push(ds);
        }
        if let Some(cycle) = find_cycle(&deps) {
            let names: Vec<String> = cycle
                .iter()
                .map(|&i| self.components[i].id.clone())
                .collect();
            return Err(invalid(
                Some(&self.components[cycle[0]].id),
                Problem::DependencyCycle(names),
            ));
        }
        // Kahn's algorithm with a priority of (order, position).
        let n = self.components.len();
        let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, ds) in deps.iter().enumerate() {
            for &j in ds {
                dependents[j].push(i);
            }
        }
        let mut ready: BTreeSet<(u32, usize)> = (0..n)
            .filter(|&i| waiting[i] == 0)
            .map(|i| (self.components[i].order, i))
            .collect();
        let mut out = Vec::with_capacity(n);
        while let Some((o, i)) = ready.iter().next().copied() {
            ready.remove(&(o, i));
            out.push(i);
            for &k in &dependents[i] {
                waiting[k] -= 1;
                if waiting[k] == 0 {
                    ready.insert((self.components[k].order, k));
                }
            }
        }
        Ok(out)
    }

    fn check_release(&self) -> Result<(), Invalid> {
        if self.components.is_empty() {
            return Err(invalid(None, Problem::NoComponents));
        }
        let c = &self.compatibility;
        if c.classes.is_empty() {
            return Err(invalid(None, Problem::NoClass));
        }
        if c.hardware.is_empty() && c.hardware_ranges.is_empty() {
            return Err(invalid(None, Problem::NoHardware));
        }
        if let Some(expires_at) = self.expires_at
            && expires_at <= self.issued_at
        {
            return Err(invalid(
                None,
                Problem::ExpiresBeforeIssued {
                    issued_at: self.issued_at,
                    expires_at,
                },
            ));
        }
        if let Some(support_ends_at) = self.support_ends_at
            && support_ends_at <= self.issued_at
        {
            return Err(invalid(
                None,
                Problem::SupportEndsBeforeIssued {
                    issued_at: self.issued_at,
                    support_ends_at,
                },
            ));
        }
        let mut seen = HashMap::new();
        for comp in &self.components {
            if seen.insert(comp.id.as_str(), comp).is_some() {
                return Err(invalid(Some(&comp.id), Problem::DuplicateComponent));
            }
        }
        for comp in &self.components {
            let here = Some(comp.id.as_str());
            if let Some(ch) = &comp.chunks {
                if ch.chunk_size == 0 {
                    return Err(invalid(here, Problem::ChunkSizeZero));
                }
                let expected = comp.size.div_ceil(u64::from(ch.chunk_size));
                if expected != ch.sha256.len() as u64 {
                    return Err(invalid(
                        here,
                        Problem::ChunkCountMismatch {
                            expected,
                            actual: ch.sha256.len() as u64,
                        },
                    ));
                }
            }
            if !comp.cves.is_empty() && comp.update_class != Some(UpdateClass::Security) {
                return Err(invalid(here, Problem::CvesWithoutSecurityClass));
            }
            let mut cves = BTreeSet::new();
            for cve in &comp.cves {
                if !cves.insert(cve) {
                    return Err(invalid(here, Problem::DuplicateCve(cve.to_string())));
                }
            }
            let mut sources = BTreeSet::new();
            for d in &comp.deltas {
                if d.from_sha256 == comp.sha256 {
                    return Err(invalid(here, Problem::DeltaFromSelf));
                }
                if !sources.insert(d.from_sha256) {
                    return Err(invalid(here, Problem::DuplicateDeltaSource));
                }
                if d.patch_size == 0 {
                    return Err(invalid(here, Problem::EmptyPatch));
                }
                if !comp.upgrade_from.matches(&d.from_version) {
                    return Err(invalid(
                        here,
                        Problem::DeltaOutsideUpgradePath {
                            from_version: d.from_version.to_string(),
                            upgrade_from: comp.upgrade_from.to_string(),
                        },
                    ));
                }
            }
            let mut on = BTreeSet::new();
            for d in &comp.dependencies {
                if d.id == comp.id {
                    return Err(invalid(here, Problem::SelfDependency));
                }
                if !on.insert(d.id.as_str()) {
                    return Err(invalid(here, Problem::DuplicateDependency(d.id.clone())));
                }
                if let Some(target) = seen.get(d.id.as_str())
                    && !d.req.matches(&target.version)
                {
                    return Err(invalid(
                        here,
                        Problem::DependencyVersionMismatch {
                            on: d.id.clone(),
                            req: d.req.to_string(),
                            version: target.version.to_string(),
                        },
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A cycle in the graph `deps` (node -> nodes it depends on), as the nodes along it with the first
/// repeated at the end; iterative depth-first search, so no recursion depth to worry about.
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; deps.len()];
    for root in 0..deps.len() {
        if mark[root] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match mark[dep] {
                    Mark::New => {
                        mark[dep] = Mark::OnPath;
                        path.push((dep, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(dep);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                path.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find_cycle;

    #[test]
    fn cycles_found_with_their_path() {
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![]]), None);
        assert_eq!(
            find_cycle(&[vec![1], vec![2], vec![0]]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&[vec![], vec![2], vec![1]]), Some(vec![1, 2, 1]));
        // A diamond is not a cycle.
        assert_eq!(find_cycle(&[vec![1, 2], vec![3], vec![3], vec![]]), None);
        // A long chain does not recurse.
        let chain: Vec<Vec<usize>> = (0..100_000).map(|i| vec![i + 1]).chain([vec![]]).collect();
        assert_eq!(find_cycle(&chain), None);
    }
}
