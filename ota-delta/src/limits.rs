//! Limits on every size a patch declares, checked before anything is allocated or written.

/// Upper bounds applied while reading a patch (native or BSDIFF40).
///
/// The defaults suit a small Linux device: about 2.5 MiB of working memory at most while
/// applying (see FORMAT.md §7). Lower them for a microcontroller; raise them only for patches
/// you made yourself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest target (and source) image, in bytes. Default 16 GiB.
    pub max_image_size: u64,
    /// Largest frame (target bytes per frame). Default 1 MiB.
    pub max_frame_size: u32,
    /// Largest LZMA2 dictionary a patch may ask for. Default 1 MiB.
    pub max_dict_size: u32,
    /// Largest number of frames. Default 1 << 24.
    pub max_frames: u32,
    /// Largest total decompressed size of a classic BSDIFF40 patch's three streams, relative to
    /// its target size: `control + diff + extra <= target * 2 + 1 MiB` is always required; this
    /// bounds the classic target size itself. Default 256 MiB (a classic patch is applied in memory).
    pub max_classic_target: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_image_size: 16 << 30,
            max_frame_size: 1 << 20,
            max_dict_size: 1 << 20,
            max_frames: 1 << 24,
            max_classic_target: 256 << 20,
        }
    }
}
