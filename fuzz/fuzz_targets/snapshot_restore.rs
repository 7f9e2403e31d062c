//! Any bytes given to restore: an error or a working detector, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut d) = auth_anomaly::Detector::restore(data) {
        d.push_ndjson(br#"{"@timestamp":"2026-10-01T00:00:00Z","event":{"category":"authentication","outcome":"success"},"user":{"name":"a"},"source":{"ip":"10.0.0.1"}}"#);
        d.flush();
    }
});
