#![no_main]
//! ota-agent's two-sector `FlashStore` over a simulated flash whose sectors hold arbitrary bytes,
//! in a few geometries: loading never panics and gives a record, nothing, or `StoreCorrupt`; a
//! save after it (when the record fits) is then loaded back, by this store and by a fresh one.
//! Input: geometry byte, then the flash contents (padded with the erased value).

use libfuzzer_sys::fuzz_target;
use ota_agent::sim::{PowerRail, SimFlash};
use ota_agent::{Error, Flash, FlashStore, Geometry, Store};

const SECTOR_SIZES: [u32; 4] = [64, 128, 256, 1024];
const ALIGNS: [u32; 4] = [1, 4, 8, 64];

fuzz_target!(|data: &[u8]| {
    let Some((&g, contents)) = data.split_first() else {
        return;
    };
    let geometry = Geometry {
        sector_size: SECTOR_SIZES[usize::from(g & 3)],
        sector_count: 3,
        write_align: ALIGNS[usize::from((g >> 2) & 3)],
        erased: if g & 0x10 == 0 { 0xFF } else { 0x00 },
    };
    let first = u32::from((g >> 5) & 1);
    let flash = SimFlash::new(PowerRail::new(), geometry);
    let mut w = flash.clone();
    let len = (geometry.sector_size * geometry.sector_count) as usize;
    let mut image = contents.to_vec();
    image.resize(len, geometry.erased);
    image.truncate(len);
    // Program the image sector by sector (SimFlash programs only over erased bytes).
    for s in 0..geometry.sector_count {
        let at = (s * geometry.sector_size) as usize;
        w.erase(s).expect("erase");
        w.program(at as u32, &image[at..at + geometry.sector_size as usize])
            .expect("program");
    }
    let Ok(mut store) = FlashStore::new(flash.clone(), first) else {
        return;
    };
    match store.load() {
        Ok(_) => {}
        Err(Error::StoreCorrupt { .. }) => {}
        Err(e) => panic!("load of arbitrary contents failed with {e:?}"),
    }
    // Whatever was there, a save that fits must be the next thing loaded.
    let record = &contents[..contents.len().min(64)];
    if record.len() > store.capacity() {
        assert!(matches!(store.save(record), Err(Error::TooLarge { .. })));
        return;
    }
    store.save(record).expect("save over arbitrary contents");
    assert_eq!(store.load().expect("load after save").as_deref(), Some(record));
    let mut fresh = FlashStore::new(flash, first).expect("same geometry");
    assert_eq!(fresh.load().expect("fresh load").as_deref(), Some(record));
});
