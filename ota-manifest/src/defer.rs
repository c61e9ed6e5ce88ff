//! When to install: the deferral rules of the install decision (feature updates may wait within
//! the device's policy; security updates not past their deadline) and the support period.

use crate::cra::UpdateClass;
use crate::error::Refusal;
use crate::model::Manifest;
use crate::plan::{Action, DeviceState, Plan};
use crate::timing::{DeferralPolicy, Support, Timing, Urgency, timing};

/// The install decision with its timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// What to install ([`Manifest::plan`]).
    pub plan: Plan,
    /// Security or feature release, for this device.
    pub urgency: Urgency,
    /// The latest time to start installing (Unix seconds): `issued_at` plus the allowed deferral
    /// (saturating).
    pub deadline: u64,
    /// Now or later.
    pub timing: Timing,
    /// The support period at the device's time.
    pub support: Support,
}

impl Manifest {
    /// [`Manifest::plan`], and when to install under the device's deferral `policy`.
    ///
    /// The rules: the release's urgency is [`Urgency::Security`] when a component the plan changes
    /// is a security update or unclassified, else [`Urgency::Feature`]. The allowed deferral is
    /// `policy.feature_deferral` for a feature release, and for a security release
    /// `policy.security_deferral` capped by [`Manifest::max_security_deferral`]; the deadline is
    /// `issued_at` plus it (saturating). Then: a deferral of 0 is [`crate::Due::NotDeferrable`]; at or
    /// after the deadline [`crate::Due::Deadline`]; inside the policy's window [`crate::Due::WindowOpen`];
    /// otherwise [`Timing::Wait`] until the window's next opening or the deadline, whichever comes
    /// first. The support period is reported in [`Schedule::support`]; it does not change the plan.
    ///
    /// # Errors
    /// As [`Manifest::plan`].
    pub fn schedule(
        &self,
        device: &DeviceState,
        policy: &DeferralPolicy,
    ) -> Result<Schedule, Refusal> {
        let plan = self.plan(device)?;
        let urgency = self.urgency(&plan);
        let (deadline, timing, support) = timing(
            self.issued_at,
            self.max_security_deferral,
            self.support_ends_at,
            urgency,
            device.now,
            policy,
        );
        Ok(Schedule {
            plan,
            urgency,
            deadline,
            timing,
            support,
        })
    }

    /// The class of the release as a whole, for a fleet (the rollout): `Some(Security)` when a
    /// component is a security update, `Some(Feature)` when every component is a feature update,
    /// `None` otherwise (an unclassified component and no security one).
    #[must_use]
    pub fn update_class(&self) -> Option<UpdateClass> {
        let classes = || self.components.iter().map(|c| c.update_class);
        if classes().any(|c| c == Some(UpdateClass::Security)) {
            Some(UpdateClass::Security)
        } else if classes().all(|c| c == Some(UpdateClass::Feature)) {
            Some(UpdateClass::Feature)
        } else {
            None
        }
    }

    fn urgency(&self, plan: &Plan) -> Urgency {
        let changed = plan.steps.iter().filter(|s| s.action != Action::Skip);
        let security = changed
            .filter_map(|s| self.components.iter().find(|c| c.id == s.component))
            .any(|c| c.update_class != Some(UpdateClass::Feature));
        if security {
            Urgency::Security
        } else {
            Urgency::Feature
        }
    }
}
