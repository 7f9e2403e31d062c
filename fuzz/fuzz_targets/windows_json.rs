//! Any JSON value as a Windows Security event (evtx JSON or winlogbeat): a logon, "not a logon"
//! or a rejection, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = auth_anomaly::ingest::windows::event_from_windows_json(&value);
    }
});
