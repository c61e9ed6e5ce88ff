//! Status codes: every C function returns one.
//!
//! The numbers are part of the ABI: never renumber a variant, only add new ones. Each area of the
//! family has its own range so that a number alone says where it came from:
//! 0-99 general, 100-199 manifest, 200-299 verify, 300-399 delta, 400-499 rollout, 500-599 twin.

use core::ffi::{CStr, c_char};

/// The result of every `ota_*` function. `OTA_STATUS_OK` (0) is success.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// The library panicked internally; the call had no effect. Please report it.
    Panic = 2,
    /// A caller-owned output buffer was too small; the needed size was written to the length
    /// out-parameter.
    BufferTooSmall = 3,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 4,
    /// An argument was outside its allowed range (an unknown enum value, a zero size, ...).
    InvalidArgument = 5,
    /// A caller-supplied callback reported a failure.
    CallbackFailed = 6,
    /// Reading or writing through the operating system failed.
    Io = 7,
}

impl Status {
    /// A static, human-readable description of the status.
    pub const fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::NullArgument => c"a required pointer argument was NULL",
            Status::Panic => {
                c"internal error (panic caught at the C boundary); the call had no effect"
            }
            Status::BufferTooSmall => {
                c"the output buffer is too small; the needed size was returned"
            }
            Status::InvalidUtf8 => c"a string argument is not valid UTF-8",
            Status::InvalidArgument => c"an argument is outside its allowed range",
            Status::CallbackFailed => c"a caller-supplied callback reported a failure",
            Status::Io => c"an operating-system read or write failed",
        }
    }

    /// The status for a raw number, if the number is one this library defines.
    pub const fn from_u32(value: u32) -> Option<Status> {
        Some(match value {
            0 => Status::Ok,
            1 => Status::NullArgument,
            2 => Status::Panic,
            3 => Status::BufferTooSmall,
            4 => Status::InvalidUtf8,
            5 => Status::InvalidArgument,
            6 => Status::CallbackFailed,
            7 => Status::Io,
            _ => return None,
        })
    }
}

/// A static, NUL-terminated description of `status`. Unknown numbers give "unknown status".
///
/// The returned string lives for the whole program; never free it. Never returns NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ota_status_message(status: u32) -> *const c_char {
    match Status::from_u32(status) {
        Some(s) => s.message().as_ptr(),
        None => c"unknown status".as_ptr(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_are_stable() {
        // The ABI numbers, written out: changing one of these is a breaking change.
        let expected = [
            (Status::Ok, 0),
            (Status::NullArgument, 1),
            (Status::Panic, 2),
            (Status::BufferTooSmall, 3),
            (Status::InvalidUtf8, 4),
            (Status::InvalidArgument, 5),
            (Status::CallbackFailed, 6),
            (Status::Io, 7),
        ];
        for (status, number) in expected {
            assert_eq!(status as u32, number);
            assert_eq!(Status::from_u32(number), Some(status));
        }
        assert_eq!(Status::from_u32(99_999), None);
    }

    #[test]
    fn every_message_is_distinct_and_unknown_is_handled() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..1000 {
            if let Some(s) = Status::from_u32(n) {
                assert!(
                    seen.insert(s.message().to_bytes()),
                    "duplicate message for {n}"
                );
            }
        }
        // SAFETY: ota_status_message always returns a static NUL-terminated string.
        let unknown = unsafe { CStr::from_ptr(ota_status_message(12_345)) };
        assert_eq!(unknown.to_bytes(), b"unknown status");
    }
}
