//! Any bytes through the NDJSON path: never panics, every line accounted for.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = auth_anomaly::Config::from_json(r#"{"output":"verdicts","learning_days":0,"min_active_days":0}"#).unwrap();
    let mut d = auth_anomaly::Detector::new(config).unwrap();
    d.push_ndjson(data);
    d.flush();
    let s = d.stats();
    assert_eq!(s.events, s.accepted + s.filtered + s.rejected);
});
