//! The JavaScript surface (feature `js`): a thin wasm-bindgen adapter over [`crate::Detector`].
//!
//! Every error becomes a JS `Error` whose message says what to do; bad input lines never throw —
//! they are counted rejections, as in the core.

use js_sys::Uint8Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::ingest::{event_from_json_value, RejectReason};
use crate::output::RejectionDoc;
use crate::{Config, Error};

fn js_error(e: Error) -> JsError {
    let hint = match &e {
        Error::Config { .. } => " (see the README's configuration table)",
        Error::CorruptSnapshot(_) | Error::SnapshotVersion { .. } => {
            " (nothing was changed; start without it or restore another snapshot)"
        }
        _ => "",
    };
    JsError::new(&format!("auth-anomaly: {e}{hint}"))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("auth-anomaly: could not convert the result to JS: {e}")))
}

/// The detector, as JS sees it.
#[wasm_bindgen]
pub struct Detector {
    inner: crate::Detector,
}

#[wasm_bindgen]
impl Detector {
    /// `new Detector(config?)`: config is an object, a JSON string, or undefined for defaults.
    /// Throws an `Error` naming the invalid field.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<Detector, JsError> {
        let config = if config.is_undefined() || config.is_null() {
            Config::default()
        } else if let Some(text) = config.as_string() {
            Config::from_json(&text).map_err(js_error)?
        } else {
            let value: serde_json::Value = serde_wasm_bindgen::from_value(config).map_err(|e| {
                JsError::new(&format!(
                    "auth-anomaly: config must be a plain object or JSON string: {e}"
                ))
            })?;
            Config::from_value(&value).map_err(js_error)?
        };
        Ok(Detector {
            inner: crate::Detector::new(config).map_err(js_error)?,
        })
    }

    /// `push(event)`: one ECS event object (or an array of them) → its verdict (or an array).
    /// An unusable event gives `{line, rejected, message}` instead of throwing.
    pub fn push(&mut self, event: JsValue) -> Result<JsValue, JsError> {
        if js_sys::Array::is_array(&event) {
            let arr = js_sys::Array::from(&event);
            let out = js_sys::Array::new();
            for item in arr.iter() {
                out.push(&self.push_one(item)?);
            }
            return Ok(out.into());
        }
        self.push_one(event)
    }

    fn push_one(&mut self, event: JsValue) -> Result<JsValue, JsError> {
        let parsed = serde_wasm_bindgen::from_value::<serde_json::Value>(event)
            .map_err(|_| RejectReason::NotAnObject)
            .and_then(|v| event_from_json_value(&v));
        match parsed {
            Ok(ev) => to_js(&self.inner.push(&ev)),
            Err(reason) => {
                let line = self.inner.count_rejection(reason);
                to_js(&RejectionDoc {
                    line,
                    rejected: reason.code().into(),
                    message: reason.describe().into(),
                })
            }
        }
    }

    /// `pushNdjson(bytes | string)`: the fast path. NDJSON in, NDJSON out (alerts, records or
    /// verdicts per the config's `output`).
    #[wasm_bindgen(js_name = pushNdjson)]
    pub fn push_ndjson(&mut self, input: JsValue) -> Result<Uint8Array, JsError> {
        let out = if let Some(text) = input.as_string() {
            self.inner.push_ndjson(text.as_bytes())
        } else if input.is_instance_of::<Uint8Array>() {
            let bytes = Uint8Array::from(input).to_vec();
            self.inner.push_ndjson(&bytes)
        } else {
            return Err(JsError::new(
                "auth-anomaly: pushNdjson expects a Uint8Array or a string of NDJSON lines",
            ));
        };
        Ok(Uint8Array::from(out.as_slice()))
    }

    /// `advance(nowMs)`: closes buckets that ended by `nowMs`; returns their NDJSON output.
    pub fn advance(&mut self, now_ms: f64) -> Result<Uint8Array, JsError> {
        if !now_ms.is_finite() {
            return Err(JsError::new(
                "auth-anomaly: advance(nowMs) needs a finite epoch-milliseconds number",
            ));
        }
        let results = self.inner.advance(now_ms as i64);
        Ok(self.ndjson(&results))
    }

    /// `flush()`: closes the open bucket; returns its NDJSON output.
    pub fn flush(&mut self) -> Uint8Array {
        let results = self.inner.flush();
        self.ndjson(&results)
    }

    fn ndjson(&self, results: &crate::Results) -> Uint8Array {
        let mut out = Vec::new();
        let kind = match self.inner.config().output {
            crate::OutputKind::Verdicts => crate::OutputKind::Alerts,
            k => k,
        };
        results.to_ndjson(kind, &mut out);
        Uint8Array::from(out.as_slice())
    }

    /// `renormalize()`: `elastic` profile — NDJSON of records whose `record_score` moved since they
    /// were written (`result_type: "record_update"`); empty for `adaptive`.
    pub fn renormalize(&mut self) -> Uint8Array {
        let mut out = Vec::new();
        for r in self.inner.renormalize() {
            if serde_json::to_writer(&mut out, &r).is_ok() {
                out.push(b'\n');
            }
        }
        Uint8Array::from(out.as_slice())
    }

    /// `snapshot()`: the whole model as versioned, checksummed bytes.
    pub fn snapshot(&self) -> Result<Uint8Array, JsError> {
        let bytes = self.inner.snapshot().map_err(js_error)?;
        Ok(Uint8Array::from(bytes.as_slice()))
    }

    /// `Detector.restore(bytes, options?)`: a detector continuing exactly where the snapshot was
    /// taken. `options.output` may change what `pushNdjson` returns; the model's settings stay.
    pub fn restore(bytes: &[u8], options: JsValue) -> Result<Detector, JsError> {
        let mut inner = crate::Detector::restore(bytes).map_err(js_error)?;
        if !options.is_undefined() && !options.is_null() {
            let output = js_sys::Reflect::get(&options, &"output".into())
                .ok()
                .and_then(|v| v.as_string());
            if let Some(o) = output {
                let kind = match o.as_str() {
                    "alerts" => crate::OutputKind::Alerts,
                    "records" => crate::OutputKind::Records,
                    "verdicts" => crate::OutputKind::Verdicts,
                    _ => {
                        return Err(JsError::new(
                            "auth-anomaly: restore options.output must be \"alerts\", \"records\" or \"verdicts\"",
                        ))
                    }
                };
                inner.set_output(kind);
            }
        }
        Ok(Detector { inner })
    }

    /// What `pushNdjson` returns: `"alerts"`, `"records"` or `"verdicts"`.
    #[wasm_bindgen(getter)]
    pub fn output(&self) -> String {
        match self.inner.config().output {
            crate::OutputKind::Alerts => "alerts",
            crate::OutputKind::Records => "records",
            crate::OutputKind::Verdicts => "verdicts",
        }
        .to_string()
    }

    /// `stats()`: counters (`events`, `accepted`, `filtered`, `rejected`, `users`, `pairs`,
    /// `memory_bytes`, …).
    pub fn stats(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.stats())
    }

    /// `markBenign(user, addressOrCidr)`: analyst feedback — the pair is fine; it is never scored
    /// for that user again. Throws an `Error` if the second argument is not an address or CIDR.
    #[wasm_bindgen(js_name = markBenign)]
    pub fn mark_benign(&mut self, user: &str, network: &str) -> Result<(), JsError> {
        self.inner.mark_benign(user, network).map_err(js_error)
    }

    /// `explain(user)`: what the model knows about a user.
    pub fn explain(&self, user: &str) -> Result<JsValue, JsError> {
        to_js(&self.inner.explain(user))
    }

    /// The alert threshold in force.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f64 {
        self.inner.threshold()
    }
}

/// Test hook for the host boundary: panics inside WebAssembly. On `wasm32-unknown-unknown` a panic
/// is a trap, which JS receives as a catchable `WebAssembly.RuntimeError` (an `Error`); the host
/// process and the module stay usable for new detectors. Used by `tests/js/panic_boundary.test.mjs`.
#[doc(hidden)]
#[wasm_bindgen(js_name = "__injectPanicForTests")]
pub fn inject_panic_for_tests() {
    panic!("auth-anomaly: injected failure (test hook)");
}

/// The plugin manifest (`pkg.json`) as an object.
#[wasm_bindgen]
pub fn manifest() -> Result<JsValue, JsError> {
    to_js(crate::Manifest::embedded())
}
