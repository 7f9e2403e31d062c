//! Any text as configuration: a config or an error naming a field, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = auth_anomaly::Config::from_json(text);
    }
});
