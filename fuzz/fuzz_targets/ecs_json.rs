//! Differential: any text through the ECS text path (hand-written scanner, then serde visitor)
//! gives exactly what the `serde_json::Value` reference gives, event or rejection.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let reference = serde_json::from_str::<serde_json::Value>(text)
        .map_err(|_| auth_anomaly::RejectReason::InvalidJson)
        .and_then(|v| auth_anomaly::ingest::event_from_json_value(&v));
    assert_eq!(auth_anomaly::ingest::event_from_json(text), reference, "{text}");
});
