//! Any bytes as the payload of a snapshot with a valid header and CRC-32: `snapshot_restore`'s
//! random bytes almost never pass the checksum, so this target reaches the decoder itself. A
//! crafted payload is an error or a working detector (which snapshots again and restores the
//! same), never a panic or an unbounded allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let mut bytes = Vec::with_capacity(22 + payload.len());
    bytes.extend_from_slice(auth_anomaly::snapshot::MAGIC);
    bytes.extend_from_slice(&auth_anomaly::snapshot::FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    if let Ok(mut d) = auth_anomaly::Detector::restore(&bytes) {
        d.push_ndjson(br#"{"@timestamp":"2026-10-01T00:00:00Z","event":{"category":"authentication","outcome":"success"},"user":{"name":"a"},"source":{"ip":"10.0.0.1"}}"#);
        d.flush();
        let again = d.snapshot().expect("a restored detector snapshots");
        auth_anomaly::Detector::restore(&again).expect("its own snapshot restores");
    }
});
