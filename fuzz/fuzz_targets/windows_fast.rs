//! The winlogbeat text fast path against the `Value` path, on any text: whenever
//! `winlogbeat_event_from_text` (or its hand-written scanner alone,
//! `winlogbeat_event_from_text_scanned`) answers, its answer is `serde_json::from_str::<Value>` then
//! `event_from_windows_json`'s (the same event, `Ok(None)` or the same rejection), and
//! `event_from_windows_text` (fast path, then the `Value` path) always is. Never a panic. The
//! input's lines are also read as one stream (`winlogbeat_events_from_stream`), where a line may
//! be read through the layout of an earlier one: each answer is its line's reference.
#![no_main]
use auth_anomaly::ingest::windows::{
    event_from_windows_json, event_from_windows_text, winlogbeat_event_from_text, winlogbeat_event_from_text_scanned,
    winlogbeat_events_from_stream,
};
use auth_anomaly::RejectReason;
use libfuzzer_sys::fuzz_target;

fn reference(text: &str) -> Result<Option<auth_anomaly::AuthEvent>, RejectReason> {
    serde_json::from_str::<serde_json::Value>(text)
        .map_err(|_| RejectReason::InvalidJson)
        .and_then(|v| event_from_windows_json(&v))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for visit in [false, true] {
        let (answers, _) = winlogbeat_events_from_stream(text.split('\n'), visit);
        for (line, answer) in text.split('\n').zip(answers) {
            if let Some(answer) = answer {
                assert_eq!(answer, reference(line), "stream (visit: {visit}), line {line:?} of {text:?}");
            }
        }
    }
    let reference = reference(text);
    if let Some(scanned) = winlogbeat_event_from_text_scanned(text) {
        assert_eq!(scanned, reference, "scanner differs on {text:?}");
    }
    if let Some(fast) = winlogbeat_event_from_text(text) {
        assert_eq!(fast, reference, "fast path differs on {text:?}");
    }
    assert_eq!(event_from_windows_text(text), reference, "{text:?}");
});
