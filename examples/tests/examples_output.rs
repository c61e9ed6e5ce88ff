//! Every per-crate example runs and prints what it promises: the test compiles each example's
//! source file as a module and calls its `run` (the same function its `main` calls), so an
//! example that stops compiling or changes behaviour fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/delta_resume.rs"]
mod delta_resume;
#[path = "../examples/manifest_plan.rs"]
mod manifest_plan;
#[path = "../examples/ring_plan.rs"]
mod ring_plan;
#[path = "../examples/sign_and_verify.rs"]
mod sign_and_verify;
#[path = "../examples/twin_sync.rs"]
mod twin_sync;

/// The signature every example's `run` has.
type Run = fn(&mut dyn std::io::Write) -> Result<(), Box<dyn std::error::Error>>;

fn output(run: Run) -> String {
    let mut out = Vec::new();
    run(&mut out).expect("the example runs");
    let text = String::from_utf8(out).expect("UTF-8 output");
    println!("{text}");
    text
}

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

#[test]
fn manifest_plan_decides_by_rule() {
    let t = output(manifest_plan::run);
    assert!(line(&t, "manifest: ").ends_with("bytes of canonical CBOR"));
    assert_eq!(
        line(&t, "decoded equals built"),
        "decoded equals built: true"
    );
    let b = line(&t, "rev B on 4.1.0:");
    assert!(
        b.contains("firmware 4.2.0 by delta from 4.1.0")
            && b.contains("slot Some(B)")
            && b.contains("reboot true"),
        "{b}"
    );
    let a = line(&t, "rev A:");
    assert!(
        a.contains("refused") && a.contains("hardware revision `A`"),
        "{a}"
    );
    let r = line(&t, "replay:");
    assert!(r.contains("refused") && r.contains("sequence 12"), "{r}");
}

#[test]
fn sign_and_verify_accepts_and_refuses_what_it_should() {
    let t = output(sign_and_verify::run);
    assert!(line(&t, "trust root v1: ").ends_with("bytes signed"));
    assert_eq!(line(&t, "verified:"), "verified: sequence 12, 2 signers");
    assert_eq!(line(&t, "image:"), "image: size and SHA-256 match");
    assert!(line(&t, "one key only:").contains("refused"));
    assert!(line(&t, "replayed after accepting 12:").contains("refused"));
    assert!(line(&t, "after expiry:").contains("refused"));
    assert!(line(&t, "tampered image:").contains("refused"));
    assert_eq!(line(&t, "rotated to"), "rotated to trust root v2");
    assert!(line(&t, "leaked old root key signs v3:").contains("refused"));
    assert!(!t.contains("accepted"), "nothing hostile is accepted:\n{t}");
}

#[test]
fn delta_resume_gives_the_identical_image() {
    let t = output(delta_resume::run);
    let first = line(&t, "image ");
    let sizes: Vec<u64> = first
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        sizes[1] * 5 < sizes[0],
        "the patch is much smaller than the image: {first}"
    );
    let frames: u32 = line(&t, "frames: ")["frames: ".len()..].parse().unwrap();
    assert!(frames >= 4, "{frames}");
    let cut = line(&t, "power cut after frame 2:");
    // Frames cover variable target lengths (ota-delta FORMAT.md §4), ending on 64-byte bounds.
    let kept: u64 = cut
        .split(", ")
        .find_map(|w| w.strip_suffix(" target bytes kept"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        cut.contains("cursor 64 bytes") && kept > 0 && kept.is_multiple_of(64) && kept < sizes[0],
        "{cut}"
    );
    assert_eq!(
        line(&t, "resumed:"),
        "resumed: identical to the new image: true"
    );
    assert!(line(&t, "damaged patch:").contains("refused"));
}

#[test]
fn ring_plan_promotes_a_good_release_and_aborts_a_bad_one() {
    let t = output(ring_plan::run);
    let sizes = line(&t, "ring sizes:");
    assert!(sizes.ends_with("[10, 100, 890]"), "{sizes}");
    assert_eq!(
        line(&t, "canary revisions:"),
        r#"canary revisions: {"A", "B", "C"}"#
    );
    assert_eq!(
        line(&t, "battery device off the charger"),
        "battery device off the charger may start: false"
    );
    assert_eq!(
        line(&t, "battery device on the charger"),
        "battery device on the charger may start: true"
    );
    assert_eq!(
        t.lines()
            .filter(|l| l.starts_with("good release: promote"))
            .count(),
        2
    );
    assert!(line(&t, "good release: complete").contains("1000 reports"));
    let abort = line(&t, "bad release: abort at ring 0:");
    assert!(abort.contains("SPRT"), "{abort}");
    assert!(!t.contains("bad release: promote"));
    let started: u64 = line(&t, "bad release: state")
        .rsplit(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        started <= 10,
        "the bad release never left the canary ring: {started}"
    );
}

#[test]
fn twin_sync_converges_and_restores() {
    let t = output(twin_sync::run);
    let first = line(&t, "version 2, delta ");
    assert!(
        first.contains(r#""firmware":"4.2.1""#)
            && first.contains(r#""telemetry_interval_s":30"#)
            && !first.contains("serial"),
        "{first}"
    );
    assert!(line(&t, "stale report:").contains("refused"));
    assert_eq!(
        line(&t, "after the report:"),
        "after the report: version 3, delta null"
    );
    let r = line(&t, "restore: new twin version 4");
    assert!(
        !r.contains("calibration"),
        "hardware-bound members stay out of the patch: {r}"
    );
    assert_eq!(
        line(&t, "new unit:"),
        "new unit: telemetry 30s, calibration 0.987 (its own)"
    );
}
