//! Writes the seed corpora under `fuzz/corpus/TARGET/` (run by `fuzz/make_corpus.sh`): each
//! crate's valid fixtures, a few of its hostile ones, and structured inputs for the delta
//! targets. Deterministic: the same tree gives the same files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_agent::sim::{PowerRail, SimFlash};
use ota_agent::{Flash, FlashStore, Geometry, Store};
use ota_delta::{Limits, apply_bsdiff};
use ota_fuzz::input::Record;
use ota_fuzz::{classic, native};
use std::fs;
use std::path::{Path, PathBuf};

/// Seeds larger than this are left out (the corpora stay small).
const MAX_SEED: u64 = 16 << 10;

struct Corpus {
    root: PathBuf,
}

impl Corpus {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    }

    /// Copies the files of `dir` whose names end with `ext` (prefixed with `prefix`).
    fn copy(&self, target: &str, dir: &str, ext: &str, prefix: &[u8]) {
        let mut names: Vec<_> = fs::read_dir(repo().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .filter(|p| fs::metadata(p).unwrap().len() <= MAX_SEED)
            .collect();
        names.sort();
        for p in names {
            let mut b = prefix.to_vec();
            b.extend_from_slice(&fs::read(&p).unwrap());
            self.put(target, &p.file_name().unwrap().to_string_lossy(), &b);
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rec(add: u16, copy: u16, to: u16) -> Record {
    Record { add, copy, to }
}

fn with_sel(sel: u8, body: Vec<u8>) -> Vec<u8> {
    let mut v = vec![sel];
    v.extend(body);
    v
}

fn classic_specs() -> Vec<(&'static str, classic::Spec)> {
    let pool: Vec<u8> = (0..600u32)
        .map(|i| if i % 7 == 0 { (i % 251) as u8 } else { 0 })
        .collect();
    let s = |old_len, flags, records: Vec<Record>| classic::Spec {
        old_len,
        old_seed: 3,
        flags,
        records,
        pool: pool.clone(),
    };
    vec![
        ("identity", s(1000, 0, vec![rec(1000, 0, 0)])),
        (
            "moves",
            s(
                2000,
                0,
                vec![
                    rec(300, 20, 900),
                    rec(400, 0, 100),
                    rec(200, 64, 1500),
                    rec(100, 5, 0),
                ],
            ),
        ),
        ("extra_only", s(0, 0, vec![rec(0, 300, 0)])),
        (
            "many_small",
            s(
                512,
                0,
                (0..16).map(|i| rec(17 + i, i % 3, 31 * i)).collect(),
            ),
        ),
        (
            "raw_positions",
            s(
                800,
                0x81,
                vec![rec(100, 3, 0xfff0), rec(50, 0, 40), rec(20, 1, 0)],
            ),
        ),
        ("size_off", s(600, 0x82, vec![rec(600, 10, 0)])),
        ("trailing", s(600, 0x84, vec![rec(300, 10, 0)])),
        (
            "level9",
            s(3000, 8, vec![rec(1500, 100, 0), rec(1400, 0, 0)]),
        ),
        ("empty", s(100, 0, vec![])),
    ]
}

fn native_specs() -> Vec<(&'static str, native::Spec)> {
    let pool: Vec<u8> = (0..3000u32)
        .map(|i| if i % 5 == 0 { (i % 253) as u8 } else { 0 })
        .collect();
    let base = native::Spec {
        src_len: 9000,
        src_seed: 5,
        tgt_len: 9500,
        pool,
        ..native::Spec::default()
    };
    let frames = vec![
        (0, vec![rec(3000, 10, 5000), rec(2000, 50, 100)]),
        (4000, vec![rec(4000, 0, 0), rec(100, 200, 8000)]),
        (100, vec![rec(500, 30, 7000), rec(900, 1, 20)]),
    ];
    let mut v = Vec::new();
    for codec in [0u8, 1] {
        let c = if codec == 0 { "stored" } else { "lzma2" };
        let lz = if codec == 0 { 0 } else { 1 + (2 << 1) };
        v.push((
            if codec == 0 {
                "full_stored"
            } else {
                "full_lzma2"
            },
            native::Spec {
                mode: 0,
                codec: lz,
                ..base.clone()
            },
        ));
        v.push((
            if codec == 0 {
                "bsdiff_stored"
            } else {
                "bsdiff_lzma2"
            },
            native::Spec {
                mode: 1,
                codec: lz,
                frames: frames.clone(),
                resume_at: 1,
                ..base.clone()
            },
        ));
        for (plane, name) in [
            (2u8, "xor4"),
            (1 | (1 << 2), "xor2_phase1"),
            (3 | (5 << 2), "xor8_phase5"),
        ] {
            let mut s = native::Spec {
                mode: 2,
                plane,
                codec: lz,
                frame: 1,
                ..base.clone()
            };
            s.flags = 1;
            let n: &'static str = Box::leak(format!("{name}_{c}").into_boxed_str());
            v.push((n, s));
        }
    }
    v.push((
        "bsdiff_one_long_frame",
        native::Spec {
            mode: 1,
            frames: vec![(
                0,
                vec![
                    rec(4095, 0, 4095),
                    rec(4095, 0, 0),
                    rec(4095, 0, 4095),
                    rec(4095, 0, 0),
                ],
            )],
            ..base.clone()
        },
    ));
    v.push((
        "bsdiff_split_runs",
        native::Spec {
            mode: 1,
            flags: 16,
            frames: frames.clone(),
            ..base.clone()
        },
    ));
    v.push((
        "empty_target",
        native::Spec {
            mode: 1,
            ..base.clone()
        },
    ));
    v.push((
        "corrupt_byte",
        native::Spec {
            mode: 1,
            flags: 0xc2,
            corrupt_at: 400,
            corrupt_xor: 0x10,
            frames: frames.clone(),
            ..base.clone()
        },
    ));
    v.push((
        "cut",
        native::Spec {
            mode: 0,
            flags: 0xc4,
            corrupt_at: 3000,
            ..base.clone()
        },
    ));
    v.push((
        "appended",
        native::Spec {
            mode: 2,
            flags: 0xc8,
            ..base.clone()
        },
    ));
    v
}

/// A CRC-32 (IEEE) for the U-Boot environment seeds.
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn uboot_copy(size: usize, redundant: bool, flag: u8, vars: &str) -> Vec<u8> {
    let h = if redundant { 5 } else { 4 };
    let mut data = vars.replace(';', "\0").into_bytes();
    data.push(0);
    data.resize(size - h, 0);
    let mut out = crc32(&data).to_le_bytes().to_vec();
    if redundant {
        out.push(flag);
    }
    out.extend(data);
    out
}

fn agent_record(state: u8, components: &[(&str, u32, u8)], cursor: bool) -> Vec<u8> {
    let mut b = vec![0u8; 153];
    b[..4].copy_from_slice(b"OTAR");
    b[4] = 1;
    b[5] = state;
    b[6] = if state == 0 { 0 } else { 2 };
    b[8..16].copy_from_slice(&7u64.to_le_bytes());
    b[24..32].copy_from_slice(&8u64.to_le_bytes());
    b[40..72].fill(0xab);
    b[72] = 0;
    b[73] = 1;
    b[76..78].copy_from_slice(&0u16.to_le_bytes());
    b[78..80].copy_from_slice(&(components.len() as u16).to_le_bytes());
    if cursor {
        b[88] = 1;
        b[89..153].fill(0x5a);
    }
    for (id, layer, slot) in components {
        let mut c = vec![0u8; 78];
        c[0] = id.len() as u8;
        c[1..1 + id.len()].copy_from_slice(id.as_bytes());
        c[33..37].copy_from_slice(&layer.to_le_bytes());
        c[37..45].copy_from_slice(&4096u64.to_le_bytes());
        c[45..77].fill(0x11);
        c[77] = *slot;
        b.extend(c);
    }
    b
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map_or_else(|| repo().join("fuzz/corpus"), PathBuf::from);
    let _ = fs::remove_dir_all(&root);
    let c = Corpus { root };

    // Manifests.
    c.copy("manifest_cbor", "ota-manifest/tests/data", ".cbor", b"");
    c.copy("manifest_json", "ota-manifest/tests/data", ".json", b"");
    let valid = fs::read(repo().join("ota-manifest/tests/data/valid.cbor")).unwrap();
    let m = ota_manifest::Manifest::from_cbor(&valid).unwrap();
    c.put(
        "manifest_json",
        "valid_from_cbor.json",
        m.to_json().unwrap().as_bytes(),
    );
    // The supply-chain fields (update class, CVE ids, SBOM format name, support end).
    let cra = fs::read(repo().join("ota-manifest/tests/data/cra.cbor")).unwrap();
    let m = ota_manifest::Manifest::from_cbor(&cra).unwrap();
    c.put(
        "manifest_json",
        "cra_from_cbor.json",
        m.to_json().unwrap().as_bytes(),
    );
    // The no_std view: the CBOR fixtures, and the JSON ones as canonical CBOR (they have delta
    // sources, dependencies and hardware ranges, so the decisions get past the release checks).
    c.copy("manifest_view", "ota-manifest/tests/data", ".cbor", b"");
    let mut json: Vec<_> = fs::read_dir(repo().join("ota-manifest/tests/data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    json.sort();
    for p in json {
        let text = fs::read_to_string(&p).unwrap();
        if let Ok(m) = ota_manifest::Manifest::from_json(&text) {
            let name = p.with_extension("cbor");
            let name = name.file_name().unwrap().to_string_lossy();
            c.put(
                "manifest_view",
                &format!("from_json_{name}"),
                &m.to_cbor().unwrap(),
            );
        }
    }

    // Envelopes and trust roots.
    c.copy("verify_envelope", "ota-verify/tests/data", ".cose", b"");
    c.copy("verify_trust_root", "ota-verify/tests/data", ".cbor", b"");
    c.copy(
        "verify_trust_root",
        "ota-verify/tests/data",
        "root_signed_valid.cose",
        b"",
    );

    // Native patches: the fixtures behind selector 0 (as they are, over the fixture source),
    // and built ones behind selectors 1-3.
    c.copy("delta_native", "ota-delta/tests/data", ".otd", &[0]);
    for (i, (name, s)) in native_specs().into_iter().enumerate() {
        let b = s.build();
        assert!(b.patch.len() >= 152, "{name}");
        c.put(
            "delta_native",
            &format!("built_{name}"),
            &with_sel(1 + (i % 3) as u8, s.write()),
        );
    }
    // The header-building raw path: selector 4, then arbitrary frame bytes.
    let mut raw = vec![4u8, 1, 0, 0, 0, 0, 0x30, 0, 0, 1, 0x5d];
    raw.extend((0..200u32).map(|i| (i * 37) as u8));
    c.put("delta_native", "raw_header", &raw);

    // MCU patches: round trips (odd selectors: cut, step sizes, then the two images) and a real
    // MCU patch over the fixture source as it is (selector 0).
    let old = fs::read(repo().join("ota-delta/tests/data/old.bin")).unwrap();
    let new = fs::read(repo().join("ota-delta/tests/data/new.bin")).unwrap();
    for (name, mode) in [("auto", 1u8), ("bsdiff", 3), ("full", 5), ("xor", 7)] {
        let (o, n) = (&old[..old.len().min(3000)], &new[..new.len().min(3000)]);
        let mut b = vec![mode | 0x80];
        b.extend_from_slice(&(o.len() as u16).to_le_bytes());
        b.extend_from_slice(&[3, 200]);
        b.extend_from_slice(o);
        b.extend_from_slice(n);
        c.put("delta_mcu", &format!("round_trip_{name}"), &b);
    }
    for (name, mode) in [
        ("bsdiff", ota_delta::ModeChoice::Bsdiff),
        ("full", ota_delta::ModeChoice::Full),
    ] {
        let o = ota_delta::DiffOptions {
            mode,
            frame_size: 4096,
            profile: ota_delta::Profile::Mcu,
            ..ota_delta::DiffOptions::default()
        };
        let p = ota_delta::diff_with(&old, &new, &o).unwrap();
        if p.len() as u64 <= MAX_SEED {
            c.put("delta_mcu", &format!("mcu_{name}.otd"), &with_sel(0, p));
        }
    }
    let mut raw = vec![2u8, 1, 0, 0x10, 0x20, 0, 0, 3, 0x00, 0x10, 0, 8];
    raw.extend((0..300u32).map(|i| (i * 37) as u8));
    c.put("delta_mcu", "raw_header", &raw);

    // Classic patches: built ones (selectors 1-3), the hostile fixtures and a real bsdiff
    // patch over the raw path's source (selector 8: 328 bytes).
    let limits = Limits::default();
    for target in ["delta_bsdiff", "delta_bsdiff_qbsdiff"] {
        for (i, (name, s)) in classic_specs().into_iter().enumerate() {
            let b = s.build();
            if let classic::Expect::Target(t) = &b.expect {
                assert_eq!(
                    apply_bsdiff(&b.old, &b.patch, &limits).unwrap(),
                    *t,
                    "{name}"
                );
            }
            c.put(
                target,
                &format!("built_{name}"),
                &with_sel(1 + (i % 3) as u8, s.write()),
            );
        }
        c.copy(target, "ota-delta/tests/data", ".bsdiff", &[0]);
        let old: Vec<u8> = (0..8u32 * 41).map(|i| (i * 13) as u8).collect();
        let mut new = old.clone();
        new[10..40].fill(7);
        new.splice(100..100, (0..50u8).map(|i| i ^ 0x55));
        let native = ota_delta::diff(&old, &new).unwrap();
        let patch = ota_delta::export_bsdiff(&old, &native, &limits).unwrap();
        assert_eq!(apply_bsdiff(&old, &patch, &limits).unwrap(), new);
        c.put(target, "raw_exported", &with_sel(8, patch));
    }

    // Rollout plans and selectors, twins.
    c.copy("rollout_plan", "ota-rollout/tests/data", ".json", b"");
    c.put(
        "rollout_plan",
        "selector.json",
        br#"{"all":[{"attr":"hw","in":["a","b"]},{"not":{"attr":"fw","eq":"1.0.0"}}]}"#,
    );
    c.copy(
        "twin_document",
        "ota-twin/tests/data",
        "valid-twin.cbor",
        b"",
    );
    c.copy(
        "twin_document",
        "ota-twin/tests/data",
        "valid-twin.json",
        b"",
    );
    c.copy(
        "twin_document",
        "ota-twin/tests/data/negative",
        ".cbor",
        b"",
    );
    c.put(
        "twin_patch",
        "add",
        b"{\"a\":[1,2]}\0[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":{\"b\":null}}]",
    );
    c.put("twin_patch", "remove_test", b"{\"a\":{\"b\":1},\"c\":2}\0[{\"op\":\"test\",\"path\":\"/c\",\"value\":2},{\"op\":\"remove\",\"path\":\"/a/b\"}]");
    c.put("twin_patch", "move_copy", b"{\"x\":[0],\"y\":{}}\0[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/y/x\"},{\"op\":\"copy\",\"from\":\"/y\",\"path\":\"/z\"}]");
    c.put(
        "twin_patch",
        "replace_root",
        b"[1]\0[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"~1\":\"~0\"}}]",
    );

    // CBOR items: the manifest, a twin, a trust root, and a few hand-written items.
    c.put("cbor_reader", "manifest", &valid);
    c.copy("cbor_reader", "ota-twin/tests/data", "valid-twin.cbor", b"");
    c.copy(
        "cbor_reader",
        "ota-verify/tests/data",
        "root_valid.cbor",
        b"",
    );
    for (name, item) in [
        (
            "tags_floats",
            &[0xc1, 0xfb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18][..],
        ),
        ("half_nan", &[0x82, 0xf9, 0x7e, 0x00, 0xf9, 0x3c, 0x00]),
        (
            "indefinite",
            &[0x9f, 0x5f, 0x41, 0x01, 0xff, 0x7f, 0x61, 0x61, 0xff, 0xff],
        ),
        (
            "map_simple",
            &[0xa3, 0x00, 0xf4, 0x20, 0xf6, 0x61, 0x6b, 0xf7],
        ),
        ("bignum", &[0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
    ] {
        c.put("cbor_reader", name, item);
    }

    // The agent's record, U-Boot environment and flash store.
    let records = [
        ("idle", agent_record(0, &[], false)),
        ("downloading", agent_record(1, &[("fw", 0, 1)], true)),
        (
            "two_components",
            agent_record(3, &[("rootfs", 0, 1), ("model", 2, 0)], false),
        ),
    ];
    for (name, r) in &records {
        assert!(ota_agent::fuzzing::record_reencode(r).is_ok(), "{name}");
        c.put("agent_record", name, r);
    }
    let vars = "bootcmd=run boot_a;BOOT_ORDER=A B;BOOT_A_LEFT=3";
    c.put(
        "agent_uboot_env",
        "single_64",
        &with_sel(2, uboot_copy(64, false, 0, vars)),
    );
    let mut two = uboot_copy(256, true, 1, vars);
    two.extend(uboot_copy(256, true, 2, "BOOT_ORDER=B A"));
    c.put("agent_uboot_env", "redundant_256", &with_sel(3 | 4, two));
    c.put(
        "agent_uboot_env",
        "config",
        b"\x80/dev/mtd1 0x0 0x4000 0x1000\n/dev/mtd2 0x0 0x4000 0x1000\n",
    );
    for g in [0u8, 0x05, 0x1a, 0x23] {
        let sizes = [64u32, 128, 256, 1024];
        let aligns = [1u32, 4, 8, 64];
        let geometry = Geometry {
            sector_size: sizes[usize::from(g & 3)],
            sector_count: 3,
            write_align: aligns[usize::from((g >> 2) & 3)],
            erased: if g & 0x10 == 0 { 0xFF } else { 0x00 },
        };
        let flash = SimFlash::new(PowerRail::new(), geometry);
        let Ok(mut store) = FlashStore::new(flash.clone(), u32::from((g >> 5) & 1)) else {
            continue;
        };
        let record = &records[1].1[..store.capacity().min(40)];
        store.save(record).unwrap();
        store.save(&record[..record.len() / 2]).unwrap();
        let mut image = vec![0u8; (geometry.sector_size * 3) as usize];
        let mut f = flash.clone();
        f.read(0, &mut image).unwrap();
        c.put(
            "agent_flash_store",
            &format!("saved_{g:02x}"),
            &with_sel(g, image),
        );
    }

    // Protocol messages: the crate's fixtures (valid and refused) as CBOR, and the valid ones
    // again in their JSON form (the target reads both).
    c.copy("protocol_decode", "ota-protocol/tests/data", ".cbor", b"");
    let mut names: Vec<_> = fs::read_dir(repo().join("ota-protocol/tests/data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cbor"))
        .collect();
    names.sort();
    for p in names {
        if let Ok(m) = ota_protocol::Message::from_cbor(&fs::read(&p).unwrap()) {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            c.put(
                "protocol_decode",
                &format!("{stem}.json"),
                m.to_json().unwrap().as_bytes(),
            );
        }
    }

    // ota-server's entry points: [entry point, device, payload]. Updates of job `d1` (the
    // target's deployment) from each of its devices, reports, twin updates.
    {
        use ota_protocol::{
            DeviceReport, JobExecution, JobId, Message, Progress, Reason, Refusal, RefusalRule,
            Stage, Status,
        };
        let q = JobExecution::queued(JobId::new("d1").unwrap(), 1);
        let v2 = q.next(Status::InProgress {
            stage: Stage::Download,
            progress: Progress { done: 1, total: 2 },
        });
        let finals = [
            ("succeeded", v2.next(Status::Succeeded)),
            (
                "failed",
                v2.next(Status::Failed {
                    stage: Stage::Trial,
                    reason: Reason::BootLoop,
                    reverted: true,
                    detail: Some("loop".into()),
                }),
            ),
            (
                "rejected",
                q.next(Status::Rejected {
                    refusal: Refusal {
                        component: None,
                        rule: RefusalRule::WrongClass,
                    },
                }),
            ),
        ];
        let report = DeviceReport {
            report_id: 9,
            sent_at: 1_800_000_000,
            installed: vec![],
            active_slot: None,
            boot_count: 3,
            reboot_loops: 0,
            uptime_since_install: None,
            health: [("temp".to_owned(), 41.5)].into_iter().collect(),
        };
        let with = |sel: u8, dev: u8, payload: &[u8]| {
            let mut v = vec![sel, dev];
            v.extend_from_slice(payload);
            v
        };
        for dev in 0..4u8 {
            let mut msgs = vec![
                ("progress", Message::Execution(v2.clone())),
                ("report", Message::Report(report.clone())),
            ];
            msgs.extend(
                finals
                    .iter()
                    .map(|(n, e)| (*n, Message::Execution(e.clone()))),
            );
            for (name, m) in msgs {
                c.put(
                    "server_messages",
                    &format!("{name}_{dev}.cbor"),
                    &with(0, dev, &m.to_cbor().unwrap()),
                );
                c.put(
                    "server_messages",
                    &format!("{name}_{dev}.json"),
                    &with(1, dev, m.to_json().unwrap().as_bytes()),
                );
            }
            c.put(
                "server_messages",
                &format!("twin_{dev}.json"),
                &with(
                    2,
                    dev,
                    br#"{"state":{"reported":{"fw":"2.0.0"}},"version":1}"#,
                ),
            );
        }
        c.put(
            "server_messages",
            "twin_desired.json",
            &with(2, 0, br#"{"state":{"desired":{"fw":"9"}}}"#),
        );
    }

    // Signed version reports: payloads (the decoder) and signed reports of the target's device
    // key (the verifier), including a replay (counter 0) and another device.
    let l = ota_protocol::Limits::default();
    let key = ota_verify::SecretKey::from_seed(&[5; 32]);
    let component = |id: &str, d: u8| ota_protocol::ComponentVersion {
        id: id.into(),
        version: "1.2.3".into(),
        sha256: ota_protocol::Sha256([d; 32]),
    };
    let reports = [
        ("minimal", "dev-1", 1, None, None, vec![]),
        (
            "full",
            "dev-1",
            7,
            Some(vec![0xa5; 16]),
            Some(ota_protocol::Slot::B),
            vec![component("app", 1), component("fw", 2)],
        ),
        (
            "replay",
            "dev-1",
            0,
            None,
            Some(ota_protocol::Slot::A),
            vec![component("fw", 3)],
        ),
        (
            "other_device",
            "dev-2",
            9,
            Some(vec![1]),
            None,
            vec![component("fw", 4)],
        ),
    ];
    for (name, device, counter, nonce, active_slot, components) in reports {
        let r = ota_protocol::VersionReport {
            device: device.into(),
            counter,
            nonce,
            sent_at: 1_800_000_000,
            active_slot,
            components,
        };
        c.put(
            "version_report",
            &format!("{name}.cbor"),
            &r.to_cbor(&l).unwrap(),
        );
        c.put(
            "version_report",
            &format!("{name}.cose"),
            &r.sign(&key, &l).unwrap(),
        );
    }

    // SUIT envelopes: the seven published examples (the only inputs that may verify).
    c.copy("suit_envelope", "ota-suit/tests/data", ".suit", b"");
}
