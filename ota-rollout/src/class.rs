//! Plans by release class: security releases get their own rings, rate and gate thresholds
//! (typically a faster schedule), every other release the regular plan.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::plan::Plan;

/// The class of a release, as the rollout sees it (`ota_manifest::Manifest::update_class`
/// gives it for an ota manifest: `Some(Security)` is [`ReleaseClass::Security`], anything else
/// [`ReleaseClass::Regular`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseClass {
    /// At least one component is a security update.
    Security,
    /// Feature-only or unclassified.
    Regular,
}

/// The regular plan and, optionally, the plan for security releases. Decode with
/// [`PlanSet::from_json`] (`{"regular": PLAN, "security": PLAN}`), which validates both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSet {
    /// The plan of every release that is not a security release.
    pub regular: Plan,
    /// The plan of security releases; without it they use the regular plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Plan>,
}

impl PlanSet {
    /// The plan for a release of class `class`.
    #[must_use]
    pub fn for_class(&self, class: ReleaseClass) -> &Plan {
        match class {
            ReleaseClass::Security => self.security.as_ref().unwrap_or(&self.regular),
            ReleaseClass::Regular => &self.regular,
        }
    }

    /// Decodes and validates both plans.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Json`], and what [`PlanSet::validate`] refuses.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<PlanSet> {
        if bytes.len() > limits.max_bytes {
            return Err(Error::TooLarge {
                limit: limits.max_bytes,
                actual: bytes.len(),
            });
        }
        let set: PlanSet = serde_json::from_slice(bytes).map_err(|e| Error::json(&e))?;
        set.validate(limits)?;
        Ok(set)
    }

    /// [`Plan::validate`] on both plans, the field path prefixed with `/regular` or
    /// `/security`.
    ///
    /// # Errors
    /// As [`Plan::validate`].
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        let within = |prefix: &str, e: Error| match e {
            Error::InvalidPlan { field, reason } => Error::InvalidPlan {
                field: format!("{prefix}{field}"),
                reason,
            },
            other => other,
        };
        self.regular
            .validate(limits)
            .map_err(|e| within("/regular", e))?;
        if let Some(s) = &self.security {
            s.validate(limits).map_err(|e| within("/security", e))?;
        }
        Ok(())
    }
}
