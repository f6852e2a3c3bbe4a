//! Whether a rendered page shows anything to read, decided from its character-sized marks
//! before Tesseract spends a second or more of a core on it. Pages without a text layer are
//! often not scans of text at all: the blank back of a duplex scan, a figure, a slide whose
//! words are in a font the renderer cannot draw (an Asian font that is not embedded). On
//! those, recognition finds nothing, and those seconds are taken from embedding.

use crate::scanned::GrayPage;

/// Marks are counted at this resolution, at most: a 6-point letter is still 4 pixels tall.
const COUNT_DPI: u32 = 150;
/// Marks this tall (inches) or taller are taken for characters; smaller ones are dust, dots
/// and scanner noise.
const MIN_MARK_INCHES: f32 = 0.025;
/// Marks taller than this are rules, frames, photos and backgrounds: no line of text is.
const MAX_MARK_INCHES: f32 = 1.5;
/// Ink differs from the ground (paper, or a slide's background) by more than this (of
/// 255); the noise of a blank scan does not.
const CONTRAST: i32 = 48;

/// True when a rendered page (a binary PGM at `dpi`, or at about 300 dpi when unknown) has
/// at least `enough` character-sized marks, dark on light or light on dark. A picture in
/// another format is given the benefit of the doubt.
pub(crate) fn may_hold_text(pgm: &[u8], dpi: Option<u32>, enough: usize) -> bool {
    let Some((width, height, offset)) = crate::raster::pgm_layout(pgm) else {
        return true;
    };
    let page = Gray {
        width: width as usize,
        height: height as usize,
        pixels: &pgm[offset..],
    };
    glyph_marks(&page, dpi.unwrap_or(300), enough) >= enough
}

/// A gray picture, one byte per pixel, row by row (borrowed from the rendered page, which
/// is not copied).
pub(crate) struct Gray<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [u8],
}

/// Counts the character-sized marks on `page`, scanned at `dpi`, up to `enough`: marks
/// darker than the ground (print on paper), or lighter (a dark slide's white letters),
/// whichever are more.
pub(crate) fn glyph_marks(page: &Gray<'_>, dpi: u32, enough: usize) -> usize {
    let factor = (dpi / COUNT_DPI).max(1) as usize;
    let small = shrink(page, dpi, factor);
    let dpi = dpi as f32 / factor as f32;
    let ground = i32::from(ground_level(&small.pixels));
    let band = (
        (MIN_MARK_INCHES * dpi).ceil() as usize,
        (MAX_MARK_INCHES * dpi).floor() as usize,
    );
    let dark = count_marks(&small, |p| i32::from(p) < ground - CONTRAST, band, enough);
    if dark >= enough {
        return dark;
    }
    dark.max(count_marks(
        &small,
        |p| i32::from(p) > ground + CONTRAST,
        band,
        enough,
    ))
}

/// The picture, scanned at `dpi`, with each `factor`×`factor` block replaced by its mean.
fn shrink(page: &Gray<'_>, dpi: u32, factor: usize) -> GrayPage {
    let (width, height) = (page.width / factor, page.height / factor);
    let mut pixels = vec![0u8; width * height];
    let area = (factor * factor) as u32;
    for y in 0..height {
        for x in 0..width {
            let mut sum = 0u32;
            for dy in 0..factor {
                let row = (y * factor + dy) * page.width + x * factor;
                sum += page
                    .pixels
                    .get(row..row + factor)
                    .map_or(255 * factor as u32, |run| {
                        run.iter().map(|&p| u32::from(p)).sum()
                    });
            }
            pixels[y * width + x] = (sum / area) as u8;
        }
    }
    GrayPage {
        width: width as u32,
        height: height as u32,
        dpi: dpi / factor as u32,
        pixels,
    }
}

/// The gray level of the ground: the most common one, over a window of neighbouring
/// levels so that the noise of a scan does not split it.
fn ground_level(pixels: &[u8]) -> u8 {
    let mut histogram = [0u64; 256];
    for &p in pixels {
        histogram[p as usize] += 1;
    }
    let window = |level: usize| -> u64 {
        histogram[level.saturating_sub(4)..=(level + 4).min(255)]
            .iter()
            .sum()
    };
    (0..=255usize)
        .max_by_key(|&level| window(level))
        .map_or(255, |level| level as u8)
}

/// Counts the 8-connected regions of pixels that are `ink` whose height lies in `band`
/// (pixels), up to `enough`.
fn count_marks(
    page: &GrayPage,
    ink: impl Fn(u8) -> bool,
    (min_height, max_height): (usize, usize),
    enough: usize,
) -> usize {
    let (width, height) = (page.width as usize, page.height as usize);
    let mut seen = vec![false; width * height];
    let mut stack: Vec<usize> = Vec::new();
    let mut marks = 0;
    for start in 0..width * height {
        if seen[start] || !ink(page.pixels[start]) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut top, mut bottom) = (start / width, start / width);
        while let Some(at) = stack.pop() {
            let (x, y) = (at % width, at / width);
            top = top.min(y);
            bottom = bottom.max(y);
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let next = ny * width + nx;
                    if !seen[next] && ink(page.pixels[next]) {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
        }
        let tall = bottom - top + 1;
        if (min_height..=max_height).contains(&tall) {
            marks += 1;
            if marks >= enough {
                break;
            }
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    const DPI: u32 = 300;

    /// A white letter-sized page at 300 dpi.
    fn page() -> Vec<u8> {
        vec![250u8; 2550 * 3300]
    }

    fn fill(pixels: &mut [u8], (x, y, w, h): (usize, usize, usize, usize), level: u8) {
        for row in y..y + h {
            pixels[row * 2550 + x..row * 2550 + x + w].fill(level);
        }
    }

    fn count(pixels: &[u8]) -> usize {
        let page = Gray {
            width: 2550,
            height: 3300,
            pixels,
        };
        glyph_marks(&page, DPI, 16)
    }

    /// A line of `n` letter-sized strokes (a 12-point face: 35 pixels tall at 300 dpi).
    fn letters(pixels: &mut [u8], n: usize, y: usize, level: u8) {
        for i in 0..n {
            fill(pixels, (300 + i * 40, y, 20, 35), level);
        }
    }

    #[test]
    fn a_blank_page_and_its_scanner_noise_show_nothing() {
        let mut pixels = page();
        assert_eq!(count(&pixels), 0);
        // Faint noise, and a few specks of dust too small for a letter.
        for (i, p) in pixels.iter_mut().enumerate() {
            *p = 240 + (i * 7919 % 13) as u8;
        }
        for i in 0..40 {
            fill(&mut pixels, (100 + i * 60, 500, 3, 3), 20);
        }
        assert_eq!(count(&pixels), 0);
    }

    #[test]
    fn a_figure_of_rules_and_frames_shows_nothing() {
        let mut pixels = page();
        fill(&mut pixels, (200, 200, 2000, 8), 30); // a rule
        fill(&mut pixels, (200, 400, 8, 1500), 30); // an axis
        fill(&mut pixels, (400, 800, 1200, 900), 90); // a photo
        letters(&mut pixels, 5, 2500, 20); // a page number and a few marks
        assert!(count(&pixels) < 16, "{}", count(&pixels));
    }

    #[test]
    fn a_line_of_dark_letters_is_enough() {
        let mut pixels = page();
        letters(&mut pixels, 20, 1000, 20);
        assert_eq!(count(&pixels), 16);
    }

    #[test]
    fn white_letters_on_a_dark_slide_count_too() {
        let mut pixels = vec![30u8; 2550 * 3300];
        letters(&mut pixels, 20, 1000, 240);
        assert_eq!(count(&pixels), 16);
    }

    #[test]
    fn a_rendered_page_of_text_holds_text_in_either_polarity() {
        let data = std::env::var_os("SHARED_DATA").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            std::path::PathBuf::from,
        );
        let pdf = std::fs::read(data.join("docs/pdf/R-intro.pdf")).unwrap();
        let (mut pgm, dpi) = crate::raster::render_at(&pdf, 20, 300).unwrap();
        assert!(may_hold_text(&pgm, dpi, 16));
        let (.., offset) = crate::raster::pgm_layout(&pgm).unwrap();
        for p in &mut pgm[offset..] {
            *p = 255 - *p;
        }
        assert!(may_hold_text(&pgm, dpi, 16));
        // Its top margin alone, a blank strip, does not.
        let (width, _, _) = crate::raster::pgm_layout(&pgm).unwrap();
        let strip = Gray {
            width: width as usize,
            height: 100,
            pixels: &pgm[offset..offset + width as usize * 100],
        };
        assert_eq!(glyph_marks(&strip, 300, 16), 0);
    }

    #[test]
    fn a_picture_in_another_format_is_read_anyway() {
        assert!(may_hold_text(b"\x89PNG\r\n\x1a\n", Some(300), 16));
    }
}
