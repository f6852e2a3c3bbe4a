//! EPUB: the chapters of the spine, in reading order, each converted like HTML so that its
//! headings become sections; a chapter without a heading of its own is headed by its title
//! in the table of contents.

use crate::archive::{resolve, Archive};
use crate::xml::{attr, local};
use crate::ExtractError;
use cairn_core::{DocumentKind, ExtractedDocument};
use quick_xml::events::Event;
use std::collections::HashMap;

const FORMAT: &str = "EPUB";

struct Item {
    href: String,
    media_type: String,
    properties: String,
}

struct Package {
    title: Option<String>,
    items: HashMap<String, Item>,
    spine: Vec<String>,
    /// The NCX table of contents of EPUB 2 (`<spine toc="…">`).
    ncx: Option<String>,
}

pub(crate) fn extract(bytes: &[u8]) -> Result<ExtractedDocument, ExtractError> {
    let mut archive = Archive::open(bytes, FORMAT)?;
    let opf_path = rootfile(&archive.read("META-INF/container.xml")?)?;
    let package = package(&archive.read(&opf_path)?)?;
    let encrypted = encrypted_parts(&mut archive)?;
    let titles = toc_titles(&mut archive, &opf_path, &package)?;
    let mut markdown = String::new();
    let mut chapters = 0;
    let mut locked = 0;
    for idref in &package.spine {
        let Some(item) = package.items.get(idref) else {
            continue;
        };
        if !item.media_type.contains("html") {
            continue;
        }
        let path = resolve(&opf_path, &percent_decode(&item.href));
        if encrypted.contains(&path) {
            locked += 1;
            continue;
        }
        let Some(xhtml) = archive.read_optional(&path)? else {
            continue;
        };
        let chapter = crate::html::to_markdown(&String::from_utf8_lossy(&xhtml))?;
        let chapter = chapter.trim();
        if chapter.is_empty() {
            continue;
        }
        chapters += 1;
        if !markdown.is_empty() {
            markdown.push_str("\n\n");
        }
        // A chapter that does not open with a heading gets its title from the contents.
        if !chapter.starts_with('#') {
            if let Some(title) = titles.get(&path) {
                markdown.push_str("# ");
                markdown.push_str(title);
                markdown.push_str("\n\n");
            }
        }
        markdown.push_str(chapter);
    }
    if chapters == 0 && locked > 0 {
        return Err(ExtractError::Protected(FORMAT));
    }
    if chapters == 0 {
        return Err(archive.corrupt("its spine lists no readable chapter"));
    }
    let mut doc = crate::markdown::extract_as(&markdown, DocumentKind::Epub);
    doc.title = package.title.or(doc.title);
    Ok(doc)
}

/// The package document's path from `META-INF/container.xml`.
fn rootfile(xml: &[u8]) -> Result<String, ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Start(e) | Event::Empty(e) if local(&e) == b"rootfile" => {
                if let Some(path) = attr(&e, b"full-path") {
                    return Ok(path);
                }
            }
            Event::Eof => return Err(corrupt("META-INF/container.xml names no package")),
            _ => {}
        }
        buf.clear();
    }
}

fn package(xml: &[u8]) -> Result<Package, ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Package {
        title: None,
        items: HashMap::new(),
        spine: Vec::new(),
        ncx: None,
    };
    let mut in_title = false;
    let mut title = String::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Start(e) if local(&e) == b"title" && out.title.is_none() => in_title = true,
            Event::Text(t) if in_title => title.push_str(&t.decode().map_err(corrupt)?),
            Event::End(e) if e.local_name().as_ref() == b"title" && in_title => {
                in_title = false;
                let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
                out.title = (!t.is_empty()).then_some(t);
            }
            Event::Start(e) | Event::Empty(e) if local(&e) == b"item" => {
                if let (Some(id), Some(href)) = (attr(&e, b"id"), attr(&e, b"href")) {
                    let item = Item {
                        href,
                        media_type: attr(&e, b"media-type").unwrap_or_default(),
                        properties: attr(&e, b"properties").unwrap_or_default(),
                    };
                    out.items.insert(id, item);
                }
            }
            Event::Start(e) | Event::Empty(e) if local(&e) == b"spine" => {
                out.ncx = attr(&e, b"toc");
            }
            Event::Start(e) | Event::Empty(e) if local(&e) == b"itemref" => {
                if let Some(idref) = attr(&e, b"idref") {
                    out.spine.push(idref);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The parts that `META-INF/encryption.xml` lists (DRM; fonts are also listed when they
/// are only obfuscated, which does not matter for text).
fn encrypted_parts(archive: &mut Archive<'_>) -> Result<Vec<String>, ExtractError> {
    let Some(xml) = archive.read_optional("META-INF/encryption.xml")? else {
        return Ok(Vec::new());
    };
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Start(e) | Event::Empty(e) if local(&e) == b"CipherReference" => {
                if let Some(uri) = attr(&e, b"URI") {
                    out.push(resolve("", &percent_decode(&uri)));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// Chapter titles by file, from the EPUB 3 navigation document or else the EPUB 2 NCX; the
/// first entry that points into a file names it.
fn toc_titles(
    archive: &mut Archive<'_>,
    opf_path: &str,
    package: &Package,
) -> Result<HashMap<String, String>, ExtractError> {
    let nav = package
        .items
        .values()
        .find(|i| i.properties.split_whitespace().any(|p| p == "nav"));
    let ncx = package
        .ncx
        .as_ref()
        .and_then(|id| package.items.get(id))
        .or_else(|| {
            package
                .items
                .values()
                .find(|i| i.media_type == "application/x-dtbncx+xml")
        });
    let (toc, is_nav) = match (nav, ncx) {
        (Some(nav), _) => (nav, true),
        (None, Some(ncx)) => (ncx, false),
        (None, None) => return Ok(HashMap::new()),
    };
    let toc_path = resolve(opf_path, &percent_decode(&toc.href));
    let Some(xml) = archive.read_optional(&toc_path)? else {
        return Ok(HashMap::new());
    };
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut buf = Vec::new();
    let mut titles = HashMap::new();
    // NCX: <navPoint><navLabel><text>T</text></navLabel><content src="…"/>; nav: <a href="…">T</a>.
    let (label, link) = if is_nav {
        (&b"a"[..], &b"a"[..])
    } else {
        (&b"text"[..], &b"content"[..])
    };
    let mut in_label = false;
    let mut text = String::new();
    let mut pending: Option<String> = None;
    let mut href: Option<String> = None;
    loop {
        match reader.read_event_into(&mut buf).map_err(corrupt)? {
            Event::Eof => break,
            Event::Start(e) if local(&e) == label => {
                in_label = true;
                text.clear();
                if is_nav {
                    href = attr(&e, b"href");
                }
            }
            Event::Text(t) if in_label => text.push_str(&t.decode().map_err(corrupt)?),
            Event::End(e) if e.local_name().as_ref() == label => {
                in_label = false;
                let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
                pending = (!t.is_empty()).then_some(t);
            }
            Event::Start(e) | Event::Empty(e) if !is_nav && local(&e) == link => {
                href = attr(&e, b"src");
            }
            _ => {}
        }
        if let (false, Some(t), Some(h)) = (in_label, pending.as_ref(), href.as_ref()) {
            let path = resolve(&toc_path, &percent_decode(h));
            titles.entry(path).or_insert_with(|| t.clone());
            pending = None;
            href = None;
        }
        buf.clear();
    }
    Ok(titles)
}

/// `ch%201.xhtml` → `ch 1.xhtml`: manifest hrefs are URLs.
fn percent_decode(href: &str) -> String {
    let bytes = href.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = href
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn corrupt(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Corrupt {
        format: FORMAT,
        reason: e.to_string(),
    }
}
