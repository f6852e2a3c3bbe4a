//! Zip containers (DOCX, PPTX, ODF, EPUB) read with caps: a zip bomb, an entry that
//! expands without end or a flood of entries ends as a clear failure, never as exhausted
//! memory.

use crate::ExtractError;
use std::io::{Cursor, Read};

/// Most bytes one entry may expand to.
const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;
/// Most bytes all entries read from one file may expand to together.
const MAX_TOTAL_BYTES: u64 = 1024 * 1024 * 1024;
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    format: &'static str,
    read_so_far: u64,
}

impl<'a> Archive<'a> {
    /// Opens the container of a `format` ("DOCX", "EPUB"…), named in every error.
    pub fn open(bytes: &'a [u8], format: &'static str) -> Result<Self, ExtractError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ExtractError::Corrupt {
            format,
            reason: format!("not a readable zip container ({e})"),
        })?;
        if zip.len() > MAX_ENTRIES {
            return Err(ExtractError::Corrupt {
                format,
                reason: format!("it holds {} entries, more than {MAX_ENTRIES}", zip.len()),
            });
        }
        Ok(Archive {
            zip,
            format,
            read_so_far: 0,
        })
    }

    pub fn corrupt(&self, reason: impl Into<String>) -> ExtractError {
        ExtractError::Corrupt {
            format: self.format,
            reason: reason.into(),
        }
    }

    /// The expanded bytes of entry `name`; a missing entry is an error naming it.
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, ExtractError> {
        self.read_optional(name)?
            .ok_or_else(|| self.corrupt(format!("{name} is missing")))
    }

    /// The expanded bytes of entry `name`, or `None` when there is no such entry.
    pub fn read_optional(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let format = self.format;
        let Some(index) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let budget = MAX_ENTRY_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(self.read_so_far));
        let entry = self
            .zip
            .by_index(index)
            .map_err(|e| ExtractError::Corrupt {
                format,
                reason: format!("{name}: {e}"),
            })?;
        // The declared size is a hint only (deflate runs to the end of its stream), so the
        // read itself is capped as well.
        if entry.size() > budget {
            return Err(too_large(format, budget));
        }
        let mut out = Vec::new();
        entry
            .take(budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| ExtractError::Corrupt {
                format,
                reason: format!("{name}: {e}"),
            })?;
        if out.len() as u64 > budget {
            return Err(too_large(format, budget));
        }
        self.read_so_far += out.len() as u64;
        Ok(Some(out))
    }
}

fn too_large(format: &'static str, budget: u64) -> ExtractError {
    ExtractError::Bomb {
        format,
        limit_mib: budget.max(1 << 20) >> 20,
    }
}

/// Resolves `target` against the folder of the entry `base` ("ppt/slides/slide1.xml" +
/// "../notesSlides/notesSlide1.xml"), the way OPC and EPUB relative references work. An
/// absolute target ("/ppt/slides/slide1.xml") starts from the root.
pub(crate) fn resolve(base: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or_default();
    let mut parts: Vec<&str> = if let Some(absolute) = target.strip_prefix('/') {
        return normalise(absolute.split('/').collect());
    } else {
        base.split('/').collect()
    };
    parts.pop();
    parts.extend(target.split('/'));
    normalise(parts)
}

fn normalise(parts: Vec<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A zip of `(name, content)` entries, deflated.
    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, content) in entries {
                zip.start_file(*name, options).unwrap();
                zip.write_all(content).unwrap();
            }
            zip.finish().unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn relative_targets_resolve_like_opc() {
        assert_eq!(
            resolve("ppt/slides/slide1.xml", "../notesSlides/notesSlide2.xml"),
            "ppt/notesSlides/notesSlide2.xml"
        );
        assert_eq!(
            resolve("ppt/presentation.xml", "slides/slide1.xml"),
            "ppt/slides/slide1.xml"
        );
        assert_eq!(
            resolve("ppt/presentation.xml", "/ppt/slides/s.xml"),
            "ppt/slides/s.xml"
        );
        assert_eq!(
            resolve("OEBPS/content.opf", "text/ch1.xhtml#p2"),
            "OEBPS/text/ch1.xhtml"
        );
        assert_eq!(resolve("content.opf", "ch1.xhtml"), "ch1.xhtml");
    }

    #[test]
    fn an_entry_that_expands_past_the_cap_is_a_bomb() {
        // 300 MiB of zeros deflate to about 300 KiB.
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            zip.start_file("big.xml", options).unwrap();
            let block = vec![0u8; 1 << 20];
            for _ in 0..300 {
                zip.write_all(&block).unwrap();
            }
            zip.finish().unwrap();
        }
        let bytes = out.into_inner();
        let mut archive = Archive::open(&bytes, "EPUB").unwrap();
        let err = archive.read("big.xml").unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::Bomb {
                    format: "EPUB",
                    limit_mib: 256
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_entry_is_named() {
        let bytes = zip_of(&[("a.xml", b"<a/>")]);
        let mut archive = Archive::open(&bytes, "PPTX").unwrap();
        assert!(archive.read_optional("b.xml").unwrap().is_none());
        let err = archive.read("b.xml").unwrap_err().to_string();
        assert!(err.contains("b.xml is missing"), "{err}");
    }
}
