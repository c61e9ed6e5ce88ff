//! The panic boundary: no Rust panic ever unwinds into C.

use crate::status::Status;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`, turning a panic into [`Status::Panic`].
///
/// Every `extern "C"` function's body goes through here. `AssertUnwindSafe` is sound because a
/// function that panics has, by the conventions of this API, written none of its output
/// parameters: outputs are written only at the very end, on success.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Status>) -> Status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Status::Ok,
        Ok(Err(status)) => status,
        Err(_) => Status::Panic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn panic_becomes_status() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let status = guard(|| panic!("boom"));
        std::panic::set_hook(hook);
        assert_eq!(status, Status::Panic);
    }

    #[test]
    fn errors_and_success_pass_through() {
        assert_eq!(guard(|| Ok(())), Status::Ok);
        assert_eq!(guard(|| Err(Status::InvalidUtf8)), Status::InvalidUtf8);
    }
}
