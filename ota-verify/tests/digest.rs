//! Streaming digest adapters and the resumable chunked verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};

use ota_verify::{
    ChunkVerifier, DigestVerifier, Error, HashingReader, HashingWriter, ImageRef, Sha256,
    chunk_table,
};
use proptest::prelude::*;

fn inner(e: &std::io::Error) -> Error {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<Error>())
        .cloned()
        .unwrap()
}

/// FIPS 180-2 appendix B.1: SHA-256("abc").
#[test]
fn sha256_of_abc_is_the_published_value() {
    assert_eq!(
        Sha256::digest(b"abc").to_string(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn short_data_is_a_size_mismatch_and_wrong_data_a_digest_mismatch() {
    let r = ImageRef::of(b"hello world");
    let mut v = r.verifier();
    v.update(b"hello").unwrap();
    assert_eq!(
        v.finish(),
        Err(Error::SizeMismatch {
            expected: 11,
            got: 5
        })
    );
    let mut v = r.verifier();
    v.update(b"hello World").unwrap();
    assert_eq!(v.finish(), Err(Error::DigestMismatch { chunk: None }));
}

#[test]
fn an_oversized_update_changes_nothing() {
    let r = ImageRef::of(b"0123456789");
    let mut v = r.verifier();
    v.update(b"01234").unwrap();
    assert_eq!(v.update(b"56789X"), Err(Error::SizeExceeded { limit: 10 }));
    assert_eq!(v.seen(), 5);
    v.update(b"56789").unwrap();
    v.finish().unwrap();
}

/// A writer that takes at most 3 bytes per call: the adapter must hash only what it took.
struct Dribble(Vec<u8>);
impl Write for Dribble {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(3);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn writer_hashes_exactly_what_the_inner_writer_took() {
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let r = ImageRef::of(&data);
    let mut w = HashingWriter::new(Dribble(Vec::new()), r.size, r.sha256);
    w.write_all(&data).unwrap();
    assert_eq!(w.finish().unwrap().0, data);
    // Wrong data: finish reports it and gives nothing back.
    let mut w = HashingWriter::new(Vec::new(), r.size, r.sha256);
    w.write_all(&data[..999]).unwrap();
    w.write_all(&[0]).unwrap();
    assert_eq!(
        w.finish().err(),
        Some(Error::DigestMismatch { chunk: None })
    );
}

#[test]
fn reader_fails_at_end_of_stream_on_a_bad_or_short_source() {
    let data = b"the image".to_vec();
    let r = ImageRef::of(&data);
    let mut ok = Vec::new();
    HashingReader::new(&data[..], r.size, r.sha256)
        .read_to_end(&mut ok)
        .unwrap();
    assert_eq!(ok, data);
    let err = HashingReader::new(&b"the imagE"[..], r.size, r.sha256)
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(inner(&err), Error::DigestMismatch { chunk: None });
    let err = HashingReader::new(&b"the"[..], r.size, r.sha256)
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(
        inner(&err),
        Error::SizeMismatch {
            expected: 9,
            got: 3
        }
    );
}

#[test]
fn chunked_verifier_resumes_after_a_power_cut_without_rereading() {
    let image: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let table = chunk_table(&image, 1024).unwrap();
    assert_eq!(table.len(), 10 * 32);
    let persisted = {
        let mut v = ChunkVerifier::new(image.len() as u64, 1024, &table).unwrap();
        for c in image.chunks(1024).take(4) {
            v.verify_chunk(c).unwrap();
        }
        v.next_chunk()
    }; // power cut: only the index survives
    let mut v = ChunkVerifier::resume(image.len() as u64, 1024, &table, persisted).unwrap();
    assert_eq!(v.next_offset(), 4096);
    // Feed only what comes after the offset.
    for c in image[v.next_offset() as usize..].chunks(1024) {
        v.verify_chunk(c).unwrap();
    }
    assert!(v.is_complete());
    assert_eq!(v.table_digest(), Sha256::digest(&table));
}

#[test]
fn chunked_verifier_names_the_bad_chunk_and_does_not_advance() {
    let image = vec![5u8; 3000];
    let table = chunk_table(&image, 1000).unwrap();
    let mut v = ChunkVerifier::new(3000, 1000, &table).unwrap();
    v.verify_chunk(&image[..1000]).unwrap();
    let mut bad = image[1000..2000].to_vec();
    bad[10] ^= 1;
    assert_eq!(
        v.verify_chunk(&bad),
        Err(Error::DigestMismatch { chunk: Some(1) })
    );
    assert_eq!(v.next_chunk(), 1);
    assert_eq!(
        v.verify_chunk(&image[1000..1999]),
        Err(Error::SizeMismatch {
            expected: 1000,
            got: 999
        })
    );
    assert_eq!(
        v.verify_chunk(&image[..1001]),
        Err(Error::SizeExceeded { limit: 1000 })
    );
    v.verify_chunk(&image[1000..2000]).unwrap();
    // Bad tables and indices.
    assert!(matches!(
        ChunkVerifier::new(3000, 1000, &table[..64]),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        ChunkVerifier::new(3000, 0, &table),
        Err(Error::Malformed { .. })
    ));
    assert_eq!(
        ChunkVerifier::resume(3000, 1000, &table, 4).err(),
        Some(Error::ChunkIndex { index: 4, count: 3 })
    );
}

#[test]
fn image_ref_round_trip_and_negative() {
    let r = ImageRef::of(b"x");
    assert_eq!(ImageRef::decode(&r.to_vec()).unwrap(), r);
    let mut bytes = r.to_vec();
    bytes.push(0);
    assert!(matches!(
        ImageRef::decode(&bytes),
        Err(Error::Malformed { .. })
    ));
    let mut small = [0u8; 10];
    assert!(matches!(
        r.encode_into(&mut small),
        Err(Error::BufferTooSmall { needed: 36 })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any split of the data into pieces verifies; streaming equals one-shot hashing.
    #[test]
    fn any_split_verifies(data in proptest::collection::vec(any::<u8>(), 0..3000), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let r = ImageRef::of(&data);
        let mut v = DigestVerifier::new(r.size, r.sha256);
        let mut points: Vec<usize> = cuts.iter().map(|c| if data.is_empty() { 0 } else { c % data.len() }).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        for w in points.windows(2) {
            v.update(&data[w[0]..w[1]]).unwrap();
        }
        prop_assert!(v.finish().is_ok());
    }

    #[test]
    fn chunked_equals_whole(data in proptest::collection::vec(any::<u8>(), 1..5000), chunk in 1u32..2000) {
        let table = chunk_table(&data, chunk).unwrap();
        let mut v = ChunkVerifier::new(data.len() as u64, chunk, &table).unwrap();
        for c in data.chunks(chunk as usize) {
            v.verify_chunk(c).unwrap();
        }
        prop_assert!(v.is_complete());
    }
}
