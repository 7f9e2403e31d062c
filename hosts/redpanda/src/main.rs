//! The Redpanda data transform (wasm32-wasip1): `rpk transform build` / `rpk transform deploy`.
//! See `README.md` and the library for what it does.

use std::cell::RefCell;

use auth_anomaly_redpanda::AlertTransform;
use redpanda_transform_sdk::{on_record_written, RecordWriter, WriteEvent};

fn main() {
    let transform = match AlertTransform::from_env() {
        Ok(t) => t,
        Err(e) => {
            // Redpanda records the transform's stderr in its logs; a bad deploy-time configuration
            // stops the transform at once instead of running with defaults nobody asked for.
            eprintln!("auth-anomaly: {e}");
            std::process::exit(1);
        }
    };
    // One transform instance per input partition; `on_record_written` never returns and calls the
    // callback from this one thread.
    let transform = RefCell::new(transform);
    on_record_written(move |event: WriteEvent<'_>, writer: &mut RecordWriter<'_>| {
        transform.borrow_mut().on_record(&event.record, writer)
    });
}
