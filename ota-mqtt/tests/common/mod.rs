//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod pki;
pub mod sim;

/// Asserts that a connect or subscribe was refused by the broker at SUBSCRIBE, for a filter
/// that starts with `prefix` (`""` for any), and says what happened otherwise.
pub fn assert_refused<T>(r: ota_mqtt::Result<T>, prefix: &str, what: &str) {
    match r {
        Err(ota_mqtt::Error::SubscribeRefused(filter)) => {
            assert!(
                filter.starts_with(prefix),
                "{what}: refused {filter}, not {prefix}..."
            );
        }
        Err(e) => panic!("{what}: {e}"),
        Ok(_) => panic!("{what}: granted"),
    }
}
