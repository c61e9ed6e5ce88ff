//! `cbor-speed NAME`: decodes one document in a loop with both trees (for callgrind).
use cbor_speed::*;
fn main() {
    let d = docs();
    let which = std::env::args().nth(1).unwrap_or_default();
    let (doc, n, old, new): (&[u8], usize, fn(&[u8]), fn(&[u8])) = match which.as_str() {
        "small" => (&d.small, 1000, old_manifest, new_manifest),
        "fleet" => (&d.fleet, 100, old_manifest, new_manifest),
        "sign1" => (&d.sign1, 1000, old_envelope, new_envelope),
        "sign3" => (&d.sign3, 1000, old_envelope, new_envelope),
        "value1k" => (&d.value1k, 1000, old_value, new_value),
        "value10k" => (&d.value10k, 100, old_value, new_value),
        "twin10k" => (&d.twin10k, 100, old_twin_doc, new_twin_doc),
        _ => {
            println!(
                "small {} fleet {} sign1 {} sign3 {} value1k {} value10k {} twin10k {}",
                d.small.len(),
                d.fleet.len(),
                d.sign1.len(),
                d.sign3.len(),
                d.value1k.len(),
                d.value10k.len(),
                d.twin10k.len()
            );
            return;
        }
    };
    for _ in 0..n {
        old(doc);
    }
    for _ in 0..n {
        new(doc);
    }
}
