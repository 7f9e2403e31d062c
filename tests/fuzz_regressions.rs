//! Inputs the fuzz targets found crashing, kept as regression tests (see RELIABILITY.md, Fuzzing).

use auth_anomaly::snapshot::{FORMAT_VERSION, MAGIC};
use auth_anomaly::Detector;

/// A snapshot around `payload` with a valid header and CRC-32, as the `snapshot_payload` target
/// builds it.
fn with_valid_header(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(22 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Seasonal count tables of the wrong length restored fine and panicked (index out of bounds in
/// `SeasonalCounts::expect`) when the next bucket closed; now the restore is an error.
#[test]
fn snapshot_with_short_seasonal_tables_is_refused_not_a_later_panic() {
    let payload = include_bytes!("fixtures/fuzz/snapshot_payload-crash-8a3d332d");
    // postcard reports a failed conversion as a generic deserialization error.
    let Err(err) = Detector::restore(&with_valid_header(payload)) else {
        panic!("the snapshot restored");
    };
    assert!(err.to_string().contains("corrupt snapshot"), "{err}");
}

/// Day and bucket numbers anywhere in the `i32` range restored fine, and the first bucket closed
/// after it subtracted them and overflowed (`learn_bucket`, a user whose last active day was
/// `i32::MIN` but whose first day was not the bucket's). Differences of stored days and buckets
/// are now saturating or taken in `i64`; the detector works on, snapshots and restores again.
#[test]
fn snapshot_with_extreme_day_numbers_keeps_working() {
    let payload = include_bytes!("fixtures/fuzz/snapshot_payload-crash-4cbe630b");
    let mut d = Detector::restore(&with_valid_header(payload)).expect("the crafted snapshot decodes");
    d.push_ndjson(br#"{"@timestamp":"2026-10-01T00:00:00Z","event":{"category":"authentication","outcome":"success"},"user":{"name":"a"},"source":{"ip":"10.0.0.1"}}"#);
    d.flush();
    let again = d.snapshot().expect("a restored detector snapshots");
    Detector::restore(&again).expect("its own snapshot restores");
}
