//! A bounded set of ids already handled: the idempotence of QoS 1 (at least once) delivery.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// Remembers the last `capacity` ids; `first_time` says whether an id is new. The oldest id is
/// forgotten first, so the capacity must cover the redelivery window (the messages that can be
/// in flight or queued when a connection drops).
#[derive(Debug, Clone)]
pub struct Seen<K> {
    set: HashSet<K>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone> Seen<K> {
    /// An empty set that keeps at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; true when it was not seen before (handle the message), false for a
    /// redelivery (acknowledge it and do nothing else).
    pub fn first_time(&mut self, id: K) -> bool {
        if self.set.contains(&id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.clone());
        self.order.push_back(id);
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_then_forgotten_past_capacity() {
        let mut s = Seen::new(2);
        assert!(s.first_time(1));
        assert!(!s.first_time(1));
        assert!(s.first_time(2));
        assert!(s.first_time(3));
        assert_eq!(s.len(), 2);
        // 1 was evicted: it counts as new again.
        assert!(s.first_time(1));
        assert!(!s.first_time(3));
    }
}
