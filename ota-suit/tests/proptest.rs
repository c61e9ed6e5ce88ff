//! The decoder is total: random bytes, and random changes of valid envelopes, give a result or
//! an error, never a panic; limits hold whatever the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ota_suit::{Envelope, Error, Limits, MapOptions, TrustAnchor};
use proptest::prelude::*;

const EXAMPLES: [&[u8]; 7] = [
    include_bytes!("data/suit_manifest_exp0.suit"),
    include_bytes!("data/suit_manifest_exp1.suit"),
    include_bytes!("data/suit_manifest_exp2A.suit"),
    include_bytes!("data/suit_manifest_exp2B.suit"),
    include_bytes!("data/suit_manifest_exp3.suit"),
    include_bytes!("data/suit_manifest_exp4.suit"),
    include_bytes!("data/suit_manifest_exp5.suit"),
];

fn anchor() -> TrustAnchor {
    TrustAnchor::from_pem(include_str!("data/trust_anchor_secp256r1_pub.pem")).unwrap()
}

/// Decode, verify and map whatever comes: only errors or a verified manifest may come out.
fn run(bytes: &[u8], limits: &Limits) -> Result<(), Error> {
    let env = Envelope::decode(bytes, limits)?;
    assert!(env.manifest().components.len() <= limits.max_components);
    assert!(env.signatures().len() <= limits.max_signatures);
    let v = env.verify(&anchor())?;
    let _ = v.to_manifest(&MapOptions::default().slot(0));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = run(&bytes, &Limits::default());
    }

    #[test]
    fn tagged_random_maps_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = vec![0xd8, 0x6b, 0xa2, 0x02];
        bytes.extend_from_slice(&body);
        let _ = run(&bytes, &Limits::default());
    }

    #[test]
    fn changed_examples_never_panic_and_never_verify(
        which in 0..7usize,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = EXAMPLES[which].to_vec();
        for (at, b) in edits {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        let changed = bytes != EXAMPLES[which];
        let r = run(&bytes, &Limits::default());
        prop_assert!(!changed || r.is_err());
    }

    #[test]
    fn truncated_examples_are_refused(which in 0..7usize, cut in any::<usize>()) {
        let bytes = EXAMPLES[which];
        let cut = cut % bytes.len();
        prop_assert!(run(&bytes[..cut], &Limits::default()).is_err());
    }

    #[test]
    fn small_limits_are_errors_not_panics(
        which in 0..7usize,
        max_commands in 0..4usize,
        max_components in 0..3usize,
        max_depth in 0..6usize,
    ) {
        let limits = Limits {
            max_commands,
            max_components,
            max_depth,
            ..Limits::default()
        };
        let _ = run(EXAMPLES[which], &limits);
    }
}
