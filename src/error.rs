//! The crate's one error type.

/// Everything that can go wrong in the core, each variant with enough context for a person to act.
///
/// Input lines never produce an `Error`: a bad line is a counted [`crate::Rejection`] and the stream
/// goes on. `Error` is for the caller's mistakes (configuration, snapshots) that must stop the call.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The configuration JSON could not be parsed or a field has an invalid value; `field` names it
    /// (dotted path, e.g. `rare_source_ip.learning_days`).
    #[error("invalid config field `{field}`: {message}")]
    Config {
        /// The offending field, as a dotted path.
        field: String,
        /// What is wrong and what would be accepted.
        message: String,
    },
    /// The embedded manifest (`pkg.json`) is malformed. Only a broken build can produce this.
    #[error("pkg.json manifest is invalid: {0}")]
    Manifest(String),
    /// The bytes given to `restore` are not a snapshot of this format (wrong magic, truncated,
    /// checksum mismatch, or undecodable payload). The running detector is left untouched.
    #[error("corrupt snapshot: {0}")]
    CorruptSnapshot(String),
    /// The snapshot was written by a newer (or older, incompatible) format version.
    #[error("snapshot format version {found} is not supported (this build reads version {supported}); upgrade auth-anomaly or start a fresh model")]
    SnapshotVersion {
        /// Version found in the snapshot header.
        found: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// Serialising the detector's state failed (should not happen; reported instead of panicking).
    #[error("could not serialise state: {0}")]
    Serialize(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
