//! Rendering a PDF page to a grayscale image for OCR, with poppler's `pdftoppm`.

use crate::tool::{self, ToolError};
use crate::ExtractError;
use std::process::Command;
use std::time::Duration;

/// Tesseract reads best at 300 dpi.
const DPI: f32 = 300.0;
/// Longest side of a rendered page in pixels: a poster-sized page is rendered at a lower
/// resolution instead of asking for gigabytes (pdftoppm then returns a 1×1 image).
const MAX_SIDE_PX: f32 = 6000.0;
const RENDER_LIMIT: Duration = Duration::from_secs(60);

/// Renders page `page` (1-based) of `pdf` at up to 300 dpi; returns a PGM image and its
/// resolution. `size` is the page's size in points, when known.
pub(crate) fn render_page(
    pdf: &[u8],
    page: u32,
    size: Option<(f32, f32)>,
) -> Result<(Vec<u8>, Option<u32>), ExtractError> {
    let dpi = size.map(|(w, h)| {
        let long_inches = w.max(h) / 72.0;
        // Truncation is intended: a whole number of dpi at or under the cap.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let dpi = DPI.min(MAX_SIDE_PX / long_inches).max(10.0) as u32;
        dpi
    });
    render(pdf, page, dpi)
}

/// Renders page `page` at exactly `dpi`.
pub(crate) fn render_at(
    pdf: &[u8],
    page: u32,
    dpi: u32,
) -> Result<(Vec<u8>, Option<u32>), ExtractError> {
    render(pdf, page, Some(dpi))
}

fn render(pdf: &[u8], page: u32, dpi: Option<u32>) -> Result<(Vec<u8>, Option<u32>), ExtractError> {
    let page_arg = page.to_string();
    let mut cmd = Command::new("pdftoppm");
    cmd.args(["-q", "-gray", "-f", &page_arg, "-l", &page_arg]);
    match dpi {
        Some(dpi) => cmd.args(["-r", &dpi.to_string()]),
        // No size known: fit the long side instead.
        None => cmd.args(["-scale-to", "3500"]),
    };
    // The PDF comes on stdin, the image goes to stdout: nothing is written to disk.
    cmd.arg("-");
    let ran = tool::run(cmd, Some(pdf.to_vec()), RENDER_LIMIT).map_err(|e| match e {
        ToolError::Missing { .. } => ExtractError::OcrUnavailable(
            "this PDF has scanned pages and poppler's pdftoppm, which renders them for OCR, \
             is not installed (Debian and Ubuntu: apt install poppler-utils; macOS: brew install poppler)"
                .into(),
        ),
        other => ExtractError::Ocr(format!("page {page} could not be rendered: {other}")),
    })?;
    if !ran.status.success() {
        return Err(ExtractError::Ocr(format!(
            "page {page} could not be rendered ({}): {}",
            ran.status,
            ran.stderr.lines().next().unwrap_or("no reason given")
        )));
    }
    match pgm_layout(&ran.stdout) {
        // pdftoppm answers an allocation it cannot make with a 1×1 image and success.
        Some((w, h, _)) if w > 1 && h > 1 => Ok((ran.stdout, dpi)),
        Some(_) => Err(ExtractError::Limit(format!(
            "page {page} is too large to render for OCR"
        ))),
        None => Err(ExtractError::Ocr(format!(
            "page {page} could not be rendered: pdftoppm returned no image"
        ))),
    }
}

/// Width, height and the offset of the pixels in a binary PGM (`P5 <w> <h> <max>\n`).
pub(crate) fn pgm_layout(image: &[u8]) -> Option<(u32, u32, usize)> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while image.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !image.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(&image[start..i]).ok()?);
    }
    if fields[0] != "P5" || fields[3] != "255" {
        return None;
    }
    let w: u32 = fields[1].parse().ok()?;
    let h: u32 = fields[2].parse().ok()?;
    // One whitespace byte ends the header.
    let offset = i + 1;
    (image.len() >= offset + (w as usize) * (h as usize)).then_some((w, h, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_is_read_from_a_pgm_header() {
        let mut pgm = b"P5\n3 2\n255\n".to_vec();
        pgm.extend_from_slice(&[0xff, 0x80, 0x00, 0x20, 0x0a, 0x0d]);
        assert_eq!(pgm_layout(&pgm), Some((3, 2, 11)));
        assert_eq!(pgm_layout(b"P5\n1 1\n255\n\xff"), Some((1, 1, 11)));
        assert_eq!(pgm_layout(b"P6\n1 1\n255\n\xff\xff\xff"), None);
        // Fewer pixels than the header promises.
        assert_eq!(pgm_layout(b"P5\n4 4\n255\n\xff"), None);
    }
}
