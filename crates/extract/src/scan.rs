//! Finding the files under the paths a person dropped or named.

use cairn_core::ports::{FileInfo, Scanned};
use cairn_core::{DocumentKind, ErrorCode, Failure};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

pub use crate::mounts::MountTable;

/// A format Cairn reads: what people call it and the extensions it is found by.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
    pub kind: DocumentKind,
}

/// Every format Cairn reads: the one list the scan, the app's file dialog and drop overlay, and
/// the CLI's help are made from.
pub const FORMATS: &[Format] = &[
    Format {
        name: "PDF",
        extensions: &["pdf"],
        kind: DocumentKind::Pdf,
    },
    Format {
        name: "Word",
        extensions: &["docx"],
        kind: DocumentKind::Docx,
    },
    Format {
        name: "OpenDocument text",
        extensions: &["odt"],
        kind: DocumentKind::Odt,
    },
    Format {
        name: "PowerPoint",
        extensions: &["pptx"],
        kind: DocumentKind::Pptx,
    },
    Format {
        name: "Excel and OpenDocument spreadsheets",
        extensions: &["xlsx", "xlsm", "ods"],
        kind: DocumentKind::Spreadsheet,
    },
    Format {
        name: "CSV",
        extensions: &["csv", "tsv"],
        kind: DocumentKind::Csv,
    },
    Format {
        name: "EPUB",
        extensions: &["epub"],
        kind: DocumentKind::Epub,
    },
    Format {
        name: "Markdown",
        extensions: &["md", "markdown", "mdown", "mkd"],
        kind: DocumentKind::Markdown,
    },
    Format {
        name: "text",
        extensions: &["txt", "text", "rst", "org", "log"],
        kind: DocumentKind::Text,
    },
    Format {
        name: "HTML",
        extensions: &["html", "htm", "xhtml"],
        kind: DocumentKind::Html,
    },
    Format {
        name: "images of pages",
        extensions: &["png", "jpg", "jpeg", "tif", "tiff", "webp"],
        kind: DocumentKind::Image,
    },
];

/// Every extension Cairn reads, lowercase, without the dot.
pub fn extensions() -> Vec<&'static str> {
    FORMATS
        .iter()
        .flat_map(|f| f.extensions.iter().copied())
        .collect()
}

/// The formats Cairn reads, in words with their extensions, for messages and help.
pub fn supported() -> String {
    let names: Vec<String> = FORMATS
        .iter()
        .map(|f| format!("{} (.{})", f.name, f.extensions.join(", .")))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// The kind a file will be read as, from its extension.
pub fn kind_for_path(path: &Path) -> Option<DocumentKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    FORMATS
        .iter()
        .find(|f| f.extensions.contains(&ext.as_str()))
        .map(|f| f.kind)
}

/// Lists files under `roots`: folders recursively (hidden entries and unsupported kinds
/// skipped, symlinked folders followed once), files named directly always. Paths are made
/// absolute; the result is sorted and free of duplicates.
pub fn scan_paths(roots: &[PathBuf]) -> Vec<Scanned> {
    scan_paths_with(roots, &MountTable::system())
}

/// [`scan_paths`] with the mount points of `mounts`: an empty folder that is one is reported
/// unreadable (a drive not plugged in), not empty.
pub fn scan_paths_with(roots: &[PathBuf], mounts: &MountTable) -> Vec<Scanned> {
    let mut out = Vec::new();
    let mut walk = Walk {
        seen_dirs: HashSet::new(),
        seen_files: HashSet::new(),
        mounts,
    };
    for root in roots {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => walk.dir(&root, &mut out),
            Ok(meta) => {
                if walk.seen_files.insert(root.clone()) {
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

/// The state of one scan.
struct Walk<'a> {
    seen_dirs: HashSet<PathBuf>,
    seen_files: HashSet<PathBuf>,
    mounts: &'a MountTable,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, out: &mut Vec<Scanned>) {
        let unreadable = |out: &mut Vec<Scanned>, e: &std::io::Error| {
            out.push(Scanned::UnreadableFolder {
                failure: io_failure(dir, e),
                path: dir.to_path_buf(),
            })
        };
        // Canonical paths catch symlink loops and folders reached twice.
        let canonical = match std::fs::canonicalize(dir) {
            Ok(canonical) => canonical,
            Err(e) => return unreadable(out, &e),
        };
        if !self.seen_dirs.insert(canonical) {
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return unreadable(out, &e),
        };
        let mut listed = 0usize;
        for entry in entries {
            listed += 1;
            // A listing cut short says nothing of the entries it did not reach.
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    unreadable(out, &e);
                    break;
                }
            };
            let path = entry.path();
            if is_ignored(&entry.file_name()) {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path, out),
                Ok(meta) if meta.is_file() && kind_for_path(&path).is_some() => {
                    if self.seen_files.insert(path.clone()) {
                        out.push(Scanned::File(info(path, &meta)));
                    }
                }
                Ok(_) => {}
                Err(e) => match std::fs::symlink_metadata(&path) {
                    // A link whose target is gone may have been a folder of documents (a drive
                    // not mounted now): what the catalog has under it is kept.
                    Ok(link) if link.file_type().is_symlink() => {
                        out.push(Scanned::UnreadableFolder {
                            failure: Failure::new(
                                ErrorCode::Unreadable,
                                format!(
                                    "cannot read {}: its link target is gone ({e})",
                                    path.display()
                                ),
                            ),
                            path,
                        })
                    }
                    _ if kind_for_path(&path).is_some() => out.push(Scanned::Unreadable {
                        failure: io_failure(&path, &e),
                        path,
                    }),
                    _ => out.push(Scanned::UnreadableFolder {
                        failure: io_failure(&path, &e),
                        path,
                    }),
                },
            }
        }
        // An empty folder that is a mount point, or on another filesystem, is a drive that is
        // not there: what was indexed from it must not be taken for deleted.
        if listed == 0 {
            if let Some(why) = self.mounts.absent_drive(dir) {
                out.push(Scanned::UnreadableFolder {
                    failure: Failure::new(ErrorCode::Unreadable, why),
                    path: dir.to_path_buf(),
                });
            }
        }
    }
}

/// Hidden entries, and the temporary files editors, office suites and browsers leave while
/// they work: never documents, and indexing them would come and go with every save.
pub fn is_ignored(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || name.starts_with(".~lock.")
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
        || [
            ".swp",
            ".swo",
            ".swx",
            ".tmp",
            ".temp",
            ".part",
            ".partial",
            ".crdownload",
            ".download",
            ".!qb",
            ".kate-swp",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
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
        Scanned::Unreadable { path, .. } | Scanned::UnreadableFolder { path, .. } => path,
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
    fn an_empty_mount_point_is_an_absent_drive_not_an_empty_folder() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let drive = dir.path().join("usb");
        let plain = dir.path().join("emptied");
        std::fs::create_dir(&drive)?;
        std::fs::create_dir(&plain)?;
        std::fs::write(dir.path().join("a.md"), "# A")?;
        let fstab = format!("/dev/sdb1 {} vfat noauto,user 0 0\n", drive.display());
        let mounts = MountTable::parse(&fstab, "");
        let scanned = scan_paths_with(&[dir.path().to_path_buf()], &mounts);
        let unreadable: Vec<&Path> = scanned
            .iter()
            .filter_map(|s| match s {
                Scanned::UnreadableFolder { path, failure } => {
                    assert!(failure.message.contains("mount point"), "{failure}");
                    Some(path.as_path())
                }
                _ => None,
            })
            .collect();
        // The mount point is unreadable (what was indexed from it is kept); an ordinary
        // folder that is empty is simply empty.
        assert_eq!(unreadable, vec![drive.as_path()]);
        assert_eq!(scanned.len(), 2, "{scanned:?}");
        Ok(())
    }

    #[test]
    fn one_list_names_every_format_once_with_each_extension_once() {
        let all = extensions();
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "an extension is listed twice: {all:?}"
        );
        for ext in [
            "pdf", "docx", "odt", "pptx", "xlsx", "ods", "csv", "epub", "md", "txt", "html", "png",
            "tiff",
        ] {
            assert!(all.contains(&ext), "{ext} missing");
            let path = PathBuf::from(format!("/d/a.{}", ext.to_uppercase()));
            assert!(kind_for_path(&path).is_some(), "{ext} is not read");
        }
        assert_eq!(kind_for_path(Path::new("/d/a.exe")), None);
        let words = supported();
        assert!(
            words.contains("PowerPoint (.pptx)") && words.contains(" and images"),
            "{words}"
        );
    }

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

    #[test]
    fn temporary_and_lock_files_are_not_documents() {
        use std::ffi::OsStr;
        for name in [
            "~$report.docx",
            ".~lock.notes.docx#",
            "notes.md~",
            ".notes.md.swp",
            "draft.md.swp",
            "#draft.md#",
            "paper.pdf.part",
            "paper.pdf.crdownload",
            "x.tmp",
        ] {
            assert!(is_ignored(OsStr::new(name)), "{name}");
        }
        for name in [
            "report.docx",
            "notes.md",
            "#1 results.pdf",
            "tilde~name.txt",
        ] {
            assert!(!is_ignored(OsStr::new(name)), "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_whose_target_is_gone_and_an_unlistable_folder_are_unreadable_folders(
    ) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("a.md"), "# A")?;
        std::os::unix::fs::symlink(dir.path().join("unplugged"), dir.path().join("drive"))?;
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked)?;
        std::fs::write(locked.join("b.md"), "# B")?;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000))?;
        let found = scan_paths(&[dir.path().to_path_buf()]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755))?;
        let folders: Vec<&Path> = found
            .iter()
            .filter_map(|s| match s {
                Scanned::UnreadableFolder { path, .. } => Some(path.as_path()),
                _ => None,
            })
            .collect();
        assert!(
            folders.contains(&dir.path().join("drive").as_path()),
            "{found:?}"
        );
        // root reads any folder whatever its mode: the locked folder is only unreadable for
        // other users, and then it must be reported, not skipped.
        let root = std::fs::read_dir(&locked).is_ok();
        assert_eq!(folders.contains(&locked.as_path()), !root, "{found:?}");
        Ok(())
    }
}
