//! Differential: the lines of any text through one streaming parser (which reads a line of a
//! layout it has seen at the known places, `src/ingest/ecs_shape.rs`) give exactly what the
//! `serde_json::Value` reference gives, line by line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parser = auth_anomaly::ingest::LineParser::new();
    for line in text.split('\n') {
        let reference = serde_json::from_str::<serde_json::Value>(line)
            .map_err(|_| auth_anomaly::RejectReason::InvalidJson)
            .and_then(|v| auth_anomaly::ingest::event_from_json_value(&v));
        assert_eq!(parser.parse(line.as_bytes()).cloned(), reference, "{line}");
    }
});
