//! Recognising a redelivered report: a bounded window of the report ids seen per device.

use std::collections::{HashMap, HashSet, VecDeque};

/// Whether a report was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// First time: count it.
    New,
    /// Already seen (a QoS 1 redelivery, or a device that sent it twice): drop it.
    Duplicate,
}

/// The last `window` report ids of each device. An id older than the window is no longer
/// recognised, so the window must cover the reports that can still be redelivered (those
/// in flight when a connection drops: a few per device with QoS 1).
///
/// Memory: about `window` × 16 bytes per device plus the device's name.
#[derive(Debug, Clone)]
pub struct ReportDedup {
    window: usize,
    devices: HashMap<String, Seen>,
}

#[derive(Debug, Clone, Default)]
struct Seen {
    order: VecDeque<u64>,
    ids: HashSet<u64>,
}

impl ReportDedup {
    /// Remembers the last `window` ids per device (at least 1).
    #[must_use]
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            devices: HashMap::new(),
        }
    }

    /// Records `report_id` from `device` and says whether it is new.
    pub fn observe(&mut self, device: &str, report_id: u64) -> Delivery {
        let seen = match self.devices.get_mut(device) {
            Some(s) => s,
            None => self.devices.entry(device.to_owned()).or_default(),
        };
        if seen.ids.contains(&report_id) {
            return Delivery::Duplicate;
        }
        if seen.order.len() == self.window
            && let Some(old) = seen.order.pop_front()
        {
            seen.ids.remove(&old);
        }
        seen.order.push_back(report_id);
        seen.ids.insert(report_id);
        Delivery::New
    }

    /// Forgets a device (removed from the fleet).
    pub fn forget(&mut self, device: &str) {
        self.devices.remove(device);
    }

    /// How many devices are remembered.
    #[must_use]
    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    /// The window per device.
    #[must_use]
    pub fn window(&self) -> usize {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_is_recognised_per_device() {
        let mut d = ReportDedup::new(4);
        assert_eq!(d.observe("a", 1), Delivery::New);
        assert_eq!(d.observe("a", 1), Delivery::Duplicate);
        // The same id from another device is another report.
        assert_eq!(d.observe("b", 1), Delivery::New);
        assert_eq!(d.observe("b", 1), Delivery::Duplicate);
        assert_eq!(d.devices(), 2);
    }

    #[test]
    fn window_is_bounded_and_forgets_the_oldest() {
        let mut d = ReportDedup::new(3);
        for id in [10, 11, 12] {
            assert_eq!(d.observe("a", id), Delivery::New);
        }
        assert_eq!(d.observe("a", 10), Delivery::Duplicate);
        // A fourth id pushes 10 out: it is no longer recognised.
        assert_eq!(d.observe("a", 13), Delivery::New);
        assert_eq!(d.observe("a", 11), Delivery::Duplicate);
        assert_eq!(d.observe("a", 10), Delivery::New);
        let s = &d.devices["a"];
        assert_eq!(s.order.len(), 3);
        assert_eq!(s.ids.len(), 3);
        d.forget("a");
        assert_eq!(d.devices(), 0);
        assert_eq!(ReportDedup::new(0).window(), 1);
    }

    #[test]
    fn shuffled_redeliveries_within_the_window_count_once() {
        let mut d = ReportDedup::new(64);
        let mut counted = 0;
        // Each id delivered up to three times, interleaved, within the window.
        for round in 0..3u64 {
            for id in 0..50u64 {
                if (id + round) % 3 != 0 && d.observe("dev", id) == Delivery::New {
                    counted += 1;
                }
            }
        }
        assert_eq!(counted, 50);
    }
}
