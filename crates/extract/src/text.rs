//! Plain text, decoded from whatever encoding it is in.

use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let text = decode(bytes)?;
    Ok(ExtractedDocument::plain(DocumentKind::Text, None, text))
}

/// Decodes by byte-order mark, then as UTF-8, then as Windows-1252 (what most legacy text is).
pub(crate) fn decode(bytes: &[u8]) -> Result<String, ExtractError> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return Ok(normalise_newlines(&text));
    }
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.iter().filter(|b| **b == 0).count() > sample.len() / 100 {
        return Err(ExtractError::Binary);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    };
    Ok(normalise_newlines(&text))
}

fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf16_latin1_and_rejects_binary() {
        let utf16: Vec<u8> = [0xFF, 0xFE, b'h', 0, b'i', 0].to_vec();
        assert_eq!(decode(&utf16).ok().as_deref(), Some("hi"));
        assert_eq!(decode(b"caf\xe9").ok().as_deref(), Some("café"));
        assert_eq!(decode(b"a\r\nb").ok().as_deref(), Some("a\nb"));
        assert!(matches!(decode(&[0u8; 64]), Err(ExtractError::Binary)));
    }
}
