//! What a device runs: apply an MCU-profile patch pushed in pieces, from "flash" to "flash",
//! persisting cursors, and resume from one. No allocator, no std. The inputs are opaque to the
//! optimiser (`black_box`), so every decoding path stays in the image.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::hint::black_box;

use ota_delta::{
    Cursor, Fed, HEADER_LEN, MCU_MAX_RAW, McuApply, McuOptions, McuStorage, mcu_frame_buf_len,
};

const FRAME: usize = mcu_frame_buf_len(MCU_MAX_RAW);

/// The fixed buffers, in .bss: the frame buffer, the work buffer and room for the apply state
/// (its size is what the state needs on this target).
struct Ram {
    frame: [u8; FRAME],
    work: [u8; 512],
    /// Room for the apply state, so that `ram=` counts what it takes on this target.
    state: [u8; core::mem::size_of::<McuApply<'static>>()],
}

struct Flash;

impl McuStorage for Flash {
    fn read_source(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = black_box(offset as u8 ^ i as u8);
        }
        Ok(())
    }
    fn write_target(&mut self, offset: u64, data: &[u8]) -> Result<(), i32> {
        black_box((offset, data));
        Ok(())
    }
    fn read_target(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        self.read_source(offset, buf)
    }
}

fn run(ram: &mut Ram) -> bool {
    let patch: &[u8] = black_box(&[0u8; 64]);
    let mut flash = Flash;
    let Ok(mut job) = McuApply::new(&mut ram.frame, &mut ram.work, McuOptions::default()) else {
        return false;
    };
    let mut saved = [0u8; 64];
    let mut piece = patch;
    while let Ok(fed) = job.feed(piece, &mut flash) {
        match fed {
            Fed::NeedMore => break,
            Fed::Frame { used, cursor } => {
                saved = cursor.to_bytes();
                piece = piece.get(used..).unwrap_or_default();
            }
            Fed::Finished { .. } => return true,
        }
    }
    drop(job);
    let Ok(cursor) = Cursor::from_bytes(black_box(&saved)) else {
        return false;
    };
    let header: &[u8; HEADER_LEN] = black_box(&[0u8; HEADER_LEN]);
    let opts = McuOptions::default();
    McuApply::resume(
        &mut ram.frame,
        &mut ram.work,
        opts,
        header,
        &cursor,
        &mut flash,
    )
    .is_ok_and(|mut j| j.feed(patch, &mut flash).is_ok())
}

static RAM: critical::Cell = critical::Cell::new();

mod critical {
    //! A single-core, no-interrupt holder for the .bss buffers (no `unsafe`: a RefCell that is
    //! only borrowed once, from the reset handler).
    use super::{FRAME, McuApply, Ram, RefCell};
    pub struct Cell(pub RefCell<Ram>);
    // The probe never runs threads or interrupts.
    unsafe impl Sync for Cell {}
    impl Cell {
        pub const fn new() -> Self {
            Self(RefCell::new(Ram {
                frame: [0; FRAME],
                work: [0; 512],
                state: [0; core::mem::size_of::<McuApply<'static>>()],
            }))
        }
    }
}

// SAFETY: `no_mangle` only clashes if another item exports `reset`; nothing else does.
#[unsafe(no_mangle)]
pub extern "C" fn reset() -> ! {
    let ok = RAM.0.try_borrow_mut().is_ok_and(|mut r| {
        black_box(&mut r.state);
        run(&mut r)
    });
    loop {
        black_box(ok);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
