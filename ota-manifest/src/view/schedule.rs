//! When to install, on a [`ManifestView`]: the std `Manifest::schedule` without the plan (ask
//! [`ManifestView::action`] for each component), through the same rules (`crate::timing`).

use super::ManifestView;
use super::decide::{DeviceView, ViewAction};
use super::error::ViewRefusal;
use crate::timing::{DeferralPolicy, Support, Timing, Urgency, timing};
use crate::update_class::UpdateClass;

/// The install decision's timing for a device (the std `Schedule` without its plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewSchedule {
    /// Security or feature release, for this device: security when a component it would change
    /// (not skipped) is a security update or unclassified.
    pub urgency: Urgency,
    /// The latest time to start installing (Unix seconds): `issued_at` plus the allowed deferral
    /// (saturating).
    pub deadline: u64,
    /// Now or later.
    pub timing: Timing,
    /// The support period at the device's time.
    pub support: Support,
}

impl ManifestView<'_> {
    /// [`ManifestView::decide`], then when to install under the device's deferral `policy`, by the
    /// rules of the std `Manifest::schedule`: a feature release may wait up to
    /// `policy.feature_deferral` after `issued_at`, a security (or unclassified) one up to
    /// `min(policy.security_deferral, max_security_deferral)` and never past that deadline;
    /// inside the policy's daily window it is due at once.
    ///
    /// # Errors
    /// As [`ManifestView::decide`].
    pub fn schedule(
        &self,
        device: &DeviceView<'_>,
        policy: &DeferralPolicy,
    ) -> Result<ViewSchedule, ViewRefusal> {
        self.decide(device)?;
        let mut security = false;
        for c in self.components() {
            if self.action(&c, device)? != ViewAction::Skip
                && c.update_class() != Some(UpdateClass::Feature)
            {
                security = true;
            }
        }
        let urgency = if security {
            Urgency::Security
        } else {
            Urgency::Feature
        };
        let (deadline, timing, support) = timing(
            self.issued_at,
            self.max_security_deferral,
            self.support_ends_at,
            urgency,
            device.now,
            policy,
        );
        Ok(ViewSchedule {
            urgency,
            deadline,
            timing,
            support,
        })
    }
}
