//! Finding the files under the paths a person dropped or named.

use cairn_core::ports::{FileInfo, Scanned};
use cairn_core::{DocumentKind, ErrorCode, Failure};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The kind a file will be read as, from its extension.
pub fn kind_for_path(path: &Path) -> Option<DocumentKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => DocumentKind::Pdf,
        "md" | "markdown" | "mdown" | "mkd" => DocumentKind::Markdown,
        "txt" | "text" | "rst" | "org" | "log" | "csv" | "tsv" => DocumentKind::Text,
        "html" | "htm" | "xhtml" => DocumentKind::Html,
        "docx" => DocumentKind::Docx,
        _ => return None,
    })
}

/// Lists files under `roots`: folders recursively (hidden entries and unsupported kinds
/// skipped, symlinked folders followed once), files named directly always. Paths are made
/// absolute; the result is sorted and free of duplicates.
pub fn scan_paths(roots: &[PathBuf]) -> Vec<Scanned> {
    let mut out = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    for root in roots {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => walk(&root, &mut seen_dirs, &mut seen_files, &mut out),
            Ok(meta) => {
                if seen_files.insert(root.clone()) {
                    out.push(Scanned::File(info(root, &meta)));
                }
            }
            Err(e) => out.push(Scanned::Unreadable {
                failure: io_failure(&root, &e),
                path: root,
            }),
        }
    }
    out.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    out
}

fn walk(
    dir: &Path,
    seen_dirs: &mut HashSet<PathBuf>,
    seen_files: &mut HashSet<PathBuf>,
    out: &mut Vec<Scanned>,
) {
    // Canonical paths catch symlink loops and folders reached twice.
    let Ok(canonical) = std::fs::canonicalize(dir) else {
        return;
    };
    if !seen_dirs.insert(canonical) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.push(Scanned::Unreadable {
                failure: io_failure(dir, &e),
                path: dir.to_path_buf(),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, seen_dirs, seen_files, out),
            Ok(meta) if meta.is_file() && kind_for_path(&path).is_some() => {
                if seen_files.insert(path.clone()) {
                    out.push(Scanned::File(info(path, &meta)));
                }
            }
            Ok(_) => {}
            Err(e) if kind_for_path(&path).is_some() => out.push(Scanned::Unreadable {
                failure: io_failure(&path, &e),
                path,
            }),
            Err(_) => {}
        }
    }
}

fn info(path: PathBuf, meta: &std::fs::Metadata) -> FileInfo {
    let mtime_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    FileInfo {
        path,
        size_bytes: meta.len(),
        mtime_ms,
    }
}

fn path_of(s: &Scanned) -> &Path {
    match s {
        Scanned::File(f) => &f.path,
        Scanned::Unreadable { path, .. } => path,
    }
}

pub(crate) fn io_failure(path: &Path, e: &std::io::Error) -> Failure {
    let why = match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ if e.raw_os_error() == Some(40) => "too many levels of symbolic links".to_string(),
        _ => e.to_string(),
    };
    Failure::new(
        ErrorCode::Unreadable,
        format!("cannot read {}: {why}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_list_supported_files_and_survive_symlink_loops() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("a.md"), "# A")?;
        std::fs::write(dir.path().join("sub/b.PDF"), "x")?;
        std::fs::write(dir.path().join("c.exe"), "x")?;
        std::fs::write(dir.path().join(".hidden.md"), "x")?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop"))?;
        let found = scan_paths(&[dir.path().to_path_buf(), dir.path().join("a.md")]);
        let names: Vec<String> = found
            .iter()
            .map(|s| {
                path_of(s)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(names, vec!["a.md", "b.PDF"]);
        let missing = scan_paths(&[dir.path().join("nope.pdf")]);
        assert!(
            matches!(&missing[0], Scanned::Unreadable { failure, .. } if failure.code == ErrorCode::Unreadable)
        );
        Ok(())
    }
}
