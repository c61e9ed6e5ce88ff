//! Criterion: each document decoded by the tree before the move and the tree after, in the same
//! run, one benchmark after the other.
use cbor_speed::*;
use criterion::{Criterion, criterion_group, criterion_main};
fn bench(c: &mut Criterion) {
    let d = docs();
    let cases: [(&str, &[u8], fn(&[u8]), fn(&[u8])); 7] = [
        ("manifest/small", &d.small, old_manifest, new_manifest),
        ("manifest/fleet", &d.fleet, old_manifest, new_manifest),
        ("verify/sign1", &d.sign1, old_envelope, new_envelope),
        ("verify/sign3", &d.sign3, old_envelope, new_envelope),
        ("twin/value1k", &d.value1k, old_value, new_value),
        ("twin/value10k", &d.value10k, old_value, new_value),
        ("twin/twin10k", &d.twin10k, old_twin_doc, new_twin_doc),
    ];
    for (name, doc, old, new) in cases {
        let mut g = c.benchmark_group(name);
        // AFTER_FIRST=1 runs the trees in the other order (load drifts during a run).
        if std::env::var_os("AFTER_FIRST").is_some() {
            g.bench_function("after", |b| b.iter(|| new(doc)));
            g.bench_function("before", |b| b.iter(|| old(doc)));
        } else {
            g.bench_function("before", |b| b.iter(|| old(doc)));
            g.bench_function("after", |b| b.iter(|| new(doc)));
        }
        g.finish();
    }
}
criterion_group!(benches, bench);
criterion_main!(benches);
