//! Criterion benchmarks for ota-verify: signature verification (envelope, strict, batch),
//! SHA-256 throughput, envelope and trust-root decoding. Under `cargo bench` it then compares
//! with `openssl` in the same run (SHA-256 over the same file, Ed25519 verify) and prints a
//! Markdown table with ratios; `cargo test --benches` runs each benchmark once and skips that.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use ota_benches::machine::{describe, tool_version};
use ota_benches::measure::{mb_per_s, median_time, run_command};
use ota_benches::table::{Table, fmt_duration, fmt_ratio};
use ota_verify::{
    BatchItem, DigestVerifier, Envelope, HashingReader, ImageRef, Policy, PublicKey, Role,
    SecretKey, SignOptions, Signer, TrustRoot, sign, sign1, verify_batch,
};

const NOW: u64 = 1_700_000_000;

fn release_root() -> TrustRoot {
    let rk: Vec<PublicKey> = (1u8..=3)
        .map(|i| SecretKey::from_seed(&[i; 32]).public_key())
        .collect();
    let lk: Vec<PublicKey> = (10u8..=12)
        .map(|i| SecretKey::from_seed(&[i; 32]).public_key())
        .collect();
    TrustRoot::builder(1, u64::MAX)
        .role(Role::ROOT, 2, &rk)
        .role(Role::RELEASE, 1, &lk)
        .build()
        .unwrap()
}

fn opts() -> SignOptions<'static> {
    SignOptions {
        sequence: Some(2),
        expires: Some(NOW + 60),
        ..SignOptions::default()
    }
}

fn bench_verify(c: &mut Criterion) {
    let signer = SecretKey::from_seed(&[10; 32]);
    let root = release_root();
    let payload = ImageRef::of(b"image").to_vec();
    let env = sign1(&payload, &signer, &opts()).unwrap();
    let mut g = c.benchmark_group("verify/ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("envelope_sign1_policy", |b| {
        b.iter(|| {
            root.verify(black_box(&env), None, &Policy::new(NOW, 1))
                .unwrap()
        })
    });
    let pk = signer.public_key();
    let msg = [7u8; 64];
    let sig = signer.sign_raw(&msg);
    g.bench_function("strict_raw_64B", |b| {
        b.iter(|| pk.verify_strict(black_box(&msg), black_box(&sig)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("verify/batch");
    for n in [8usize, 64] {
        let keys: Vec<SecretKey> = (0..n)
            .map(|i| SecretKey::from_seed(&[i as u8; 32]))
            .collect();
        let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
        let msgs: Vec<[u8; 64]> = (0..n).map(|i| [i as u8; 64]).collect();
        let sigs: Vec<[u8; 64]> = keys.iter().zip(&msgs).map(|(k, m)| k.sign_raw(m)).collect();
        let items: Vec<BatchItem<'_>> = (0..n)
            .map(|i| BatchItem {
                key: &pks[i],
                message: &msgs[i],
                signature: &sigs[i],
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("batch", n), &items, |b, items| {
            b.iter(|| assert!(verify_batch(black_box(items)).iter().all(|v| *v)))
        });
        g.bench_with_input(
            BenchmarkId::new("one_by_one_strict", n),
            &items,
            |b, items| {
                b.iter(|| {
                    for it in items {
                        it.key.verify_strict(it.message, it.signature).unwrap();
                    }
                })
            },
        );
    }
    g.finish();
}

fn bench_sha256(c: &mut Criterion) {
    let data: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let r = ImageRef::of(&data);
    let mut g = c.benchmark_group("verify/sha256");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("digest_verifier_1MiB_64KiB_updates", |b| {
        b.iter(|| {
            let mut v = DigestVerifier::new(r.size, r.sha256);
            for chunk in data.chunks(64 * 1024) {
                v.update(chunk).unwrap();
            }
            v.finish().unwrap()
        })
    });
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    let signers: Vec<SecretKey> = (10u8..=12)
        .map(|i| SecretKey::from_seed(&[i; 32]))
        .collect();
    let refs: Vec<&dyn Signer> = signers.iter().map(|s| s as &dyn Signer).collect();
    let payload = ImageRef::of(b"image").to_vec();
    let env1 = sign1(&payload, &signers[0], &opts()).unwrap();
    let env3 = sign(&payload, &refs, &opts()).unwrap();
    let root_bytes = release_root().to_vec();
    let mut g = c.benchmark_group("verify/decode");
    g.bench_function("envelope_sign1", |b| {
        b.iter(|| Envelope::decode(black_box(&env1)).unwrap())
    });
    g.bench_function("envelope_sign_3_signatures", |b| {
        b.iter(|| Envelope::decode(black_box(&env3)).unwrap())
    });
    g.bench_function("trust_root_6_keys", |b| {
        b.iter(|| TrustRoot::decode(black_box(&root_bytes)).unwrap())
    });
    g.finish();
}

/// Side-by-side with openssl, only under `cargo bench` (criterion gets `--bench` then).
fn compare_with_openssl() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let openssl = tool_version("openssl", &["version"]);
    if openssl == "not installed" {
        println!("openssl not installed: no comparison");
        return;
    }
    println!(
        "\n## ota-verify vs openssl (same run)\n\nMachine: {}\nopenssl: {openssl}\n",
        describe()
    );
    let mut t = Table::new(&["operation", "ota-verify", "openssl", "ratio (ours/openssl)"]);

    // SHA-256 of the same 64 MiB file.
    let dir = std::env::temp_dir().join(format!("ota-verify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("data.bin");
    let data: Vec<u8> = (0..64u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let r = ImageRef::of(&data);
    let ours_mem = median_time(5, || {
        let mut v = DigestVerifier::new(r.size, r.sha256);
        v.update(&data).unwrap();
        v.finish().unwrap()
    });
    let ours_file = median_time(5, || {
        let f = std::fs::File::open(&file).unwrap();
        let mut rd = HashingReader::new(
            std::io::BufReader::with_capacity(1 << 16, f),
            r.size,
            r.sha256,
        );
        std::io::copy(&mut rd, &mut std::io::sink()).unwrap()
    });
    let theirs = run_command(
        "openssl",
        &["dgst", "-sha256", file.to_str().unwrap()],
        None,
        5,
    )
    .unwrap()
    .wall;
    let n = data.len() as u64;
    t.row(vec![
        "SHA-256, 64 MiB file (`HashingReader` over the file / `openssl dgst -sha256 FILE`, median of 5, process start included for openssl)".into(),
        format!("{:.0} MB/s", mb_per_s(n, ours_file)),
        format!("{:.0} MB/s", mb_per_s(n, theirs)),
        fmt_ratio(mb_per_s(n, ours_file), mb_per_s(n, theirs)),
    ]);
    t.row(vec![
        "SHA-256, 64 MiB in memory (`DigestVerifier`) vs the same openssl run".into(),
        format!("{:.0} MB/s", mb_per_s(n, ours_mem)),
        format!("{:.0} MB/s", mb_per_s(n, theirs)),
        fmt_ratio(mb_per_s(n, ours_mem), mb_per_s(n, theirs)),
    ]);

    // Ed25519 verify: openssl speed loops in process, like our median over 2000 calls.
    let signer = SecretKey::from_seed(&[9; 32]);
    let pk = signer.public_key();
    let msg = [1u8; 64];
    let sig = signer.sign_raw(&msg);
    let per_ours = median_time(5, || {
        for _ in 0..2000 {
            pk.verify_strict(black_box(&msg), black_box(&sig)).unwrap();
        }
    }) / 2000;
    let speed = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "2", "ed25519"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&speed.stdout);
    let verify_per_s = text
        .lines()
        .find(|l| l.contains("EdDSA (Ed25519)") && !l.contains("sign/s"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(vps) = verify_per_s {
        let per_theirs = Duration::from_secs_f64(1.0 / vps);
        t.row(vec![
            "Ed25519 verify, one signature (`verify_strict`, median of 5x2000 / `openssl speed -seconds 2 ed25519`)".into(),
            fmt_duration(per_ours),
            fmt_duration(per_theirs),
            fmt_ratio(per_ours.as_secs_f64(), per_theirs.as_secs_f64()),
        ]);
    }
    // One process per verification, as a shell script would do it.
    let pem = dir.join("pub.pem");
    let msg_file = dir.join("msg");
    let sig_file = dir.join("sig");
    std::fs::write(&pem, pk.to_spki_pem().unwrap()).unwrap();
    std::fs::write(&msg_file, msg).unwrap();
    std::fs::write(&sig_file, sig).unwrap();
    let args = [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        pem.to_str().unwrap(),
        "-rawin",
        "-in",
        msg_file.to_str().unwrap(),
        "-sigfile",
        sig_file.to_str().unwrap(),
    ];
    let pkeyutl = run_command("openssl", &args, None, 9).unwrap().wall;
    let root = release_root();
    let env = sign1(
        &ImageRef::of(b"image").to_vec(),
        &SecretKey::from_seed(&[10; 32]),
        &opts(),
    )
    .unwrap();
    let ours_env = median_time(5, || {
        for _ in 0..1000 {
            root.verify(black_box(&env), None, &Policy::new(NOW, 1))
                .unwrap();
        }
    }) / 1000;
    t.row(vec![
        "verify one signed release: `TrustRoot::verify` (decode + policy + strict verify) / one `openssl pkeyutl -verify -rawin` process".into(),
        fmt_duration(ours_env),
        fmt_duration(pkeyutl),
        fmt_ratio(ours_env.as_secs_f64(), pkeyutl.as_secs_f64()),
    ]);
    println!("{}", t.to_markdown());
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_verify, bench_sha256, bench_decode);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    compare_with_openssl();
}
