//! The record format. Each record is one batch of clicks:
//!
//! ```text
//! magic "TLY1" | payload length u32 | first sequence number u64 | clicks u32 | CRC-32 u32 | payload
//! ```
//!
//! integers little-endian, the CRC (IEEE, as in zlib) over the sequence number, the
//! count and the payload, and the payload a JSON array of clicks, so an operator can
//! read a segment with standard tools.

use tally_core::click::Click;

pub(crate) const MAGIC: &[u8; 4] = b"TLY1";
pub(crate) const HEADER_LEN: usize = 24;
/// A record larger than this is damage, not data (a batch is at most a few MB).
const MAX_PAYLOAD: u32 = 256 << 20;

/// A record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) payload_len: u32,
    pub(crate) first_seq: u64,
    pub(crate) count: u32,
    pub(crate) crc: u32,
}

impl Header {
    pub(crate) fn last_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count) - 1
    }

    pub(crate) fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.payload_len)
    }
}

fn checksum(first_seq: u64, count: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&first_seq.to_le_bytes());
    hasher.update(&count.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Encodes a batch as one record, appended to `out`.
pub(crate) fn encode(first_seq: u64, clicks: &[Click], out: &mut Vec<u8>) -> serde_json::Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    serde_json::to_writer(&mut *out, clicks)?;
    let payload_len = (out.len() - start - HEADER_LEN) as u32;
    let count = clicks.len() as u32;
    let crc = checksum(first_seq, count, &out[start + HEADER_LEN..]);
    let header = &mut out[start..start + HEADER_LEN];
    header[0..4].copy_from_slice(MAGIC);
    header[4..8].copy_from_slice(&payload_len.to_le_bytes());
    header[8..16].copy_from_slice(&first_seq.to_le_bytes());
    header[16..20].copy_from_slice(&count.to_le_bytes());
    header[20..24].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Whether a header is all zeros: the preallocated, never written end of a segment.
pub(crate) fn is_unwritten(bytes: &[u8; HEADER_LEN]) -> bool {
    bytes.iter().all(|byte| *byte == 0)
}

/// Reads a header; `None` if it is not one.
pub(crate) fn decode_header(bytes: &[u8; HEADER_LEN]) -> Option<Header> {
    if &bytes[0..4] != MAGIC {
        return None;
    }
    let word = |range: std::ops::Range<usize>| u32::from_le_bytes(bytes[range].try_into().unwrap_or_default());
    let header = Header {
        payload_len: word(4..8),
        first_seq: u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default()),
        count: word(16..20),
        crc: word(20..24),
    };
    (header.count > 0 && header.first_seq > 0 && header.payload_len <= MAX_PAYLOAD).then_some(header)
}

/// Whether a payload matches its header's checksum.
pub(crate) fn payload_intact(header: &Header, payload: &[u8]) -> bool {
    checksum(header.first_seq, header.count, payload) == header.crc
}

/// Decodes the clicks of an intact payload.
pub(crate) fn decode_payload(header: &Header, payload: &[u8]) -> Option<Vec<Click>> {
    let clicks: Vec<Click> = serde_json::from_slice(payload).ok()?;
    (clicks.len() == header.count as usize).then_some(clicks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A click as a journal written before the flood flag holds it (the JSON of the
    /// 2026-11-24 bench's journal): it still decodes, as not a flood.
    const OLD_CLICK: &str = r#"[{"click_id":"0353DGRpuufJ11bNR1g71j","at":"2026-11-24T15:29:01.505530953Z","program":1,"owner":1,"owner_kind":"partner","ad":1,"source":"link","visitor":"0353DGRpvSc6ZKL4XqnYuv","ip_hash":"a2b33b978b689fb503fd02d62920e654","country":null,"user_agent":"","device":"bot","os":"","browser":"","referrer_url":null,"referrer_domain":null,"landing_page":"https://shop.bench.test/?irclickid=0353DGRpuufJ11bNR1g71j","sub_ids":[null,null,null],"shared_id":null,"unique":true,"bot":true,"malformed":false,"creditable":true}]"#;

    #[test]
    fn a_record_written_before_the_flood_flag_still_decodes() {
        let header = Header {
            payload_len: OLD_CLICK.len() as u32,
            first_seq: 1,
            count: 1,
            crc: checksum(1, 1, OLD_CLICK.as_bytes()),
        };
        let clicks = decode_payload(&header, OLD_CLICK.as_bytes()).expect("decodes");
        assert_eq!(clicks.len(), 1);
        assert!(!clicks[0].flood);
        assert_eq!(clicks[0].click_id.as_str(), "0353DGRpuufJ11bNR1g71j");
    }
}
