//! Image-only PDFs, the way a scanner writes them: each page one grayscale picture and no
//! text layer. The OCR benchmark and tests make them from PDFs that have a text layer, so
//! that what OCR reads can be compared with the text the page really holds.

use crate::ExtractError;
use lopdf::{dictionary, Document, Object, Stream};

/// A page picture: 8-bit gray pixels, row by row, and the resolution it was scanned at.
pub struct GrayPage {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub pixels: Vec<u8>,
}

/// Renders page `page` (1-based) of the PDF `pdf` at `dpi`, in gray, with poppler.
pub fn scan_page(pdf: &[u8], page: u32, dpi: u32) -> Result<GrayPage, ExtractError> {
    let (pgm, _) = crate::raster::render_at(pdf, page, dpi)?;
    let (width, height, offset) = crate::raster::pgm_layout(&pgm).ok_or_else(|| {
        ExtractError::Ocr(format!("page {page} did not render as a grayscale image"))
    })?;
    Ok(GrayPage {
        width,
        height,
        dpi,
        pixels: pgm[offset..].to_vec(),
    })
}

/// Writes a PDF whose pages are `pages`, each filling its page at its resolution.
pub fn image_only_pdf(pages: &[GrayPage]) -> Result<Vec<u8>, ExtractError> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids: Vec<Object> = Vec::new();
    for page in pages {
        let mut image = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => i64::from(page.width),
                "Height" => i64::from(page.height),
                "ColorSpace" => "DeviceGray",
                "BitsPerComponent" => 8,
            },
            page.pixels.clone(),
        );
        image
            .compress()
            .map_err(|e| ExtractError::CorruptPdf(e.to_string()))?;
        let image_id = doc.add_object(image);
        let scale = 72.0 / f64::from(page.dpi.max(1));
        let (w, h) = (
            f64::from(page.width) * scale,
            f64::from(page.height) * scale,
        );
        let content = format!("q {w:.2} 0 0 {h:.2} 0 0 cm /Scan Do Q");
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        #[allow(clippy::cast_possible_truncation)]
        let media_box: Vec<Object> = vec![0.into(), 0.into(), (w as f32).into(), (h as f32).into()];
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => media_box,
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Scan" => image_id } },
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| ExtractError::CorruptPdf(e.to_string()))?;
    Ok(out)
}
