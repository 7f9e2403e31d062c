//! Snapshot format: the detector's whole state as bytes a host can persist.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `AUTHANOM` |
//! | 8 | 2 | format version ([`FORMAT_VERSION`]) |
//! | 10 | 8 | payload length |
//! | 18 | 4 | CRC-32 (IEEE) of the payload |
//! | 22 | n | payload: the state, serialised with `postcard` |
//!
//! Restoring checks all four before decoding; any mismatch is an error, never a silent reset.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};

/// Magic bytes at the start of every snapshot.
pub const MAGIC: &[u8; 8] = b"AUTHANOM";
/// The format version this build writes and reads. Bump on any change to the state's shape.
pub const FORMAT_VERSION: u16 = 2;
const HEADER: usize = 8 + 2 + 8 + 4;

/// Encodes a value into a snapshot.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let payload = postcard::to_allocvec(value).map_err(|e| Error::Serialize(e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decodes a snapshot, checking magic, version, length and checksum.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() < HEADER {
        return Err(Error::CorruptSnapshot(format!(
            "{} bytes is shorter than the {HEADER}-byte header",
            bytes.len()
        )));
    }
    if &bytes[0..8] != MAGIC {
        return Err(Error::CorruptSnapshot(
            "not an auth-anomaly snapshot (bad magic bytes)".into(),
        ));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(Error::SnapshotVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[10..18]);
    let len = u64::from_le_bytes(len);
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(Error::CorruptSnapshot(format!(
            "payload is {} bytes, header says {len} (truncated?)",
            payload.len()
        )));
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[18..22]);
    if crc32fast::hash(payload) != u32::from_le_bytes(crc) {
        return Err(Error::CorruptSnapshot("checksum mismatch".into()));
    }
    postcard::from_bytes(payload).map_err(|e| Error::CorruptSnapshot(format!("undecodable payload: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_corruption_is_caught() {
        let value = vec![1u32, 2, 3];
        let bytes = encode(&value).unwrap();
        assert_eq!(decode::<Vec<u32>>(&bytes).unwrap(), value);
        assert!(matches!(
            decode::<Vec<u32>>(&bytes[..5]),
            Err(Error::CorruptSnapshot(_))
        ));
        assert!(matches!(
            decode::<Vec<u32>>(&bytes[..bytes.len() - 1]),
            Err(Error::CorruptSnapshot(_))
        ));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(decode::<Vec<u32>>(&flipped), Err(Error::CorruptSnapshot(_))));
        let mut newer = bytes.clone();
        newer[8] = 9;
        assert_eq!(
            decode::<Vec<u32>>(&newer),
            Err(Error::SnapshotVersion {
                found: 9,
                supported: FORMAT_VERSION
            })
        );
        let mut foreign = bytes;
        foreign[0] = b'X';
        assert!(matches!(decode::<Vec<u32>>(&foreign), Err(Error::CorruptSnapshot(_))));
    }
}
