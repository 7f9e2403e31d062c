//! The JS surface across the wasm boundary, under Node and headless Chromium
//! (`wasm-pack test --node|--headless --chrome -- --features js --test wasm_api`).
#![cfg(all(target_arch = "wasm32", feature = "js"))]

use auth_anomaly::js::Detector;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

#[cfg(feature = "browser-tests")]
wasm_bindgen_test_configure!(run_in_browser);

const DAY: i64 = 86_400_000;
const T0: i64 = 1_788_220_800_000; // 2026-09-01

fn line(ts: i64, user: &str, ip: &str) -> String {
    format!(
        "{{\"@timestamp\":\"{}\",\"event\":{{\"category\":[\"authentication\"],\"outcome\":\"success\"}},\"user\":{{\"name\":\"{user}\"}},\"source\":{{\"ip\":\"{ip}\"}}}}\n",
        auth_anomaly::time::format_rfc3339_ms(ts)
    )
}

fn history() -> String {
    (0..14)
        .map(|d| line(T0 + d * DAY + 9 * 3_600_000, "alice", "10.20.3.41"))
        .collect()
}

fn text(bytes: js_sys::Uint8Array) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

fn config(json: &str) -> JsValue {
    JsValue::from_str(json)
}

#[wasm_bindgen_test]
fn invalid_config_throws_an_error_naming_the_field() {
    let err = Detector::new(config(r#"{"learning_days":"soon"}"#))
        .err()
        .expect("must fail");
    let value: JsValue = err.into();
    let error: js_sys::Error = value.into();
    let message = String::from(error.message());
    assert!(message.contains("learning_days"), "{message}");
}

#[wasm_bindgen_test]
fn push_ndjson_round_trip_gives_the_alert() {
    let mut d = Detector::new(JsValue::UNDEFINED).unwrap();
    let mut input = history();
    input.push_str("not json\n");
    input.push_str(&line(T0 + 14 * DAY + 10 * 3_600_000, "alice", "185.220.101.4"));
    let out = text(d.push_ndjson(JsValue::from_str(&input)).unwrap());
    assert_eq!(out, "", "the attack's bucket is still open");
    let out = text(d.flush());
    let alerts: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(alerts.len(), 1, "{out}");
    assert_eq!(alerts[0]["source"]["ip"], "185.220.101.4");
    assert!(alerts[0]["record_score"].as_f64().unwrap() >= 75.0);
    // Bytes in work the same as a string.
    let mut d2 = Detector::new(JsValue::UNDEFINED).unwrap();
    let bytes = js_sys::Uint8Array::from(input.as_bytes());
    d2.push_ndjson(bytes.into()).unwrap();
    assert_eq!(text(d2.flush()), out);
}

#[wasm_bindgen_test]
fn snapshot_restore_across_the_boundary_continues_the_model() {
    let mut d = Detector::new(JsValue::UNDEFINED).unwrap();
    d.push_ndjson(JsValue::from_str(&history())).unwrap();
    let snap = d.snapshot().unwrap();
    let mut restored = Detector::restore(&snap.to_vec(), JsValue::UNDEFINED).unwrap();
    let attack = line(T0 + 14 * DAY + 10 * 3_600_000, "alice", "185.220.101.4");
    restored.push_ndjson(JsValue::from_str(&attack)).unwrap();
    d.push_ndjson(JsValue::from_str(&attack)).unwrap();
    assert_eq!(text(restored.flush()), text(d.flush()));
    assert!(Detector::restore(&[1, 2, 3], JsValue::UNDEFINED).is_err());
    let mut corrupt = snap.to_vec();
    let n = corrupt.len() - 1;
    corrupt[n] ^= 0xff;
    assert!(Detector::restore(&corrupt, JsValue::UNDEFINED).is_err());
}

#[wasm_bindgen_test]
fn push_object_gives_a_verdict_and_bad_values_a_rejection() {
    let mut d = Detector::new(JsValue::UNDEFINED).unwrap();
    let event = js_sys::JSON::parse(line(T0, "bob", "10.1.1.1").trim()).unwrap();
    let verdict = d.push(event).unwrap();
    let jobs = js_sys::Reflect::get(&verdict, &"jobs".into()).unwrap();
    let first = js_sys::Reflect::get(&jobs, &0.into()).unwrap();
    assert_eq!(
        js_sys::Reflect::get(&first, &"state".into())
            .unwrap()
            .as_string()
            .unwrap(),
        "learning"
    );
    let rejected = d.push(JsValue::from_f64(42.0)).unwrap();
    assert_eq!(
        js_sys::Reflect::get(&rejected, &"rejected".into())
            .unwrap()
            .as_string()
            .unwrap(),
        "not_an_object"
    );
    let stats = d.stats().unwrap();
    assert_eq!(
        js_sys::Reflect::get(&stats, &"rejected".into()).unwrap().as_f64(),
        Some(1.0)
    );
    assert_eq!(
        js_sys::Reflect::get(&stats, &"events".into()).unwrap().as_f64(),
        Some(2.0)
    );
}
