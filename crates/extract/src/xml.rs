//! The small pieces of quick-xml handling that every XML-based format shares.

use crate::ExtractError;
use quick_xml::events::{BytesRef, BytesStart};

/// The local name of an element (`w:t` → `t`): Strict OOXML and the ODF/EPUB dialects use
/// other namespace prefixes and URIs for the same elements.
pub(crate) fn local<'a>(e: &'a BytesStart<'a>) -> &'a [u8] {
    e.local_name().into_inner()
}

/// The value of the attribute with local name `name`, unescaped.
pub(crate) fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.unescape_value()
                .ok()
                .map(|v| v.into_owned())
                .or_else(|| String::from_utf8(a.value.into_owned()).ok())
        })
}

/// Appends what an entity or character reference stands for. XML has five named entities;
/// XHTML (EPUB) also uses HTML's (`&nbsp;`). An unknown one is kept as written rather than
/// lost.
pub(crate) fn push_reference(
    out: &mut String,
    r: &BytesRef<'_>,
    corrupt: impl Fn(String) -> ExtractError,
) -> Result<(), ExtractError> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| corrupt(e.to_string()))? {
        out.push(c);
        return Ok(());
    }
    let name = r.decode().map_err(|e| corrupt(e.to_string()))?;
    match quick_xml::escape::resolve_xml_entity(&name)
        .or_else(|| quick_xml::escape::resolve_html5_entity(&name))
    {
        Some(text) => out.push_str(text),
        None => {
            out.push('&');
            out.push_str(&name);
            out.push(';');
        }
    }
    Ok(())
}

/// Collapses runs of spaces and tabs inside a line and trims it.
pub(crate) fn tidy(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
