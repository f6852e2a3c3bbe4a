//! Scans and photos (PNG, JPEG, TIFF, WebP, BMP, GIF): read by OCR, a multi-page TIFF one
//! page per frame. The dimensions are checked from the header before anything is decoded,
//! so an image that claims a million pixels a side fails at once.

use crate::builder::TextBuilder;
use crate::ocr::{format_of, OcrRequest, MAX_PIXELS, MAX_SIDE};
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};

/// Refuses an image whose header declares more pixels than OCR may read.
pub(crate) fn check_size(bytes: &[u8]) -> Result<(u32, u32), ExtractError> {
    let format = format_of(bytes).unwrap_or("image");
    let size = imagesize::blob_size(bytes).map_err(|e| ExtractError::Corrupt {
        format,
        reason: format!("its size cannot be read ({e})"),
    })?;
    let (w, h) = (
        u32::try_from(size.width).unwrap_or(u32::MAX),
        u32::try_from(size.height).unwrap_or(u32::MAX),
    );
    if w == 0 || h == 0 {
        return Err(ExtractError::Corrupt {
            format,
            reason: "it has no pixels".into(),
        });
    }
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(ExtractError::Limit(format!(
            "the image is {w}×{h} pixels, more than OCR reads ({MAX_SIDE} a side, {} million in all)",
            MAX_PIXELS / 1_000_000
        )));
    }
    Ok((w, h))
}

pub(crate) fn extract(
    bytes: &[u8],
    ocr: Option<&OcrRequest<'_>>,
) -> Result<ExtractedDocument, ExtractError> {
    if format_of(bytes).is_none() {
        return Err(ExtractError::Corrupt {
            format: "image",
            reason: "it is not a PNG, JPEG, TIFF, WebP, GIF or BMP image".into(),
        });
    }
    check_size(bytes)?;
    let Some(ocr) = ocr else {
        return Err(ExtractError::OcrUnavailable(
            "an image is read by OCR, which this extraction does not run".into(),
        ));
    };
    let engine = ocr.engine()?;
    (ocr.progress)(1, 1);
    let frames = engine.recognise(bytes.to_vec(), None)?;
    let mut builder = TextBuilder::new();
    let mut ocr_pages = Vec::new();
    for (i, text) in frames.iter().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        builder.page(number, text);
        ocr_pages.push(number);
    }
    let mut doc = builder.finish(DocumentKind::Image, None);
    doc.ocr_pages = ocr_pages;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_magic_bytes() {
        assert_eq!(format_of(b"\x89PNG\r\n\x1a\nrest"), Some("PNG"));
        assert_eq!(format_of(b"\xff\xd8\xff\xe0"), Some("JPEG"));
        assert_eq!(format_of(b"II*\0...."), Some("TIFF"));
        assert_eq!(format_of(b"P5\n3 3\n255\n"), Some("PNM"));
        // A list of paths is what Tesseract would otherwise read from a non-image.
        assert_eq!(format_of(b"/etc/passwd\n"), None);
    }

    #[test]
    fn a_huge_declared_size_fails_before_decoding() {
        // A PNG header declaring 100000 × 100000 pixels, and nothing else.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        let err = check_size(&png).unwrap_err();
        assert!(matches!(err, ExtractError::Limit(_)), "{err}");
        assert!(err.to_string().contains("100000×100000"), "{err}");
    }
}
