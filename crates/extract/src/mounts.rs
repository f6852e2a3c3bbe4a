//! Telling an empty folder from an absent drive. An automount point or an fstab mount point
//! whose drive is not plugged in reads as an empty folder; taken at its word, a sync would
//! remove every document that was indexed from the drive. Such a folder is reported unreadable
//! instead, so that its documents are kept and the reason is shown.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The folders this system mounts drives on: the mount points of `/etc/fstab` and those
/// the kernel lists (automount points among them).
#[derive(Debug, Clone, Default)]
pub struct MountTable {
    points: HashSet<PathBuf>,
}

impl MountTable {
    /// This system's table (empty where the files cannot be read, as on Windows and macOS).
    pub fn system() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Self::parse(&read("/etc/fstab"), &read("/proc/self/mountinfo"))
    }

    /// The table from the text of an fstab and of a mountinfo file.
    pub fn parse(fstab: &str, mountinfo: &str) -> Self {
        let mut points = HashSet::new();
        for line in fstab.lines().map(str::trim) {
            if line.starts_with('#') {
                continue;
            }
            if let Some(target) = line.split_whitespace().nth(1) {
                if target.starts_with('/') && target != "/" {
                    points.insert(PathBuf::from(unescape(target)));
                }
            }
        }
        for line in mountinfo.lines() {
            // id parent major:minor root mount-point …
            if let Some(target) = line.split_whitespace().nth(4) {
                if target != "/" {
                    points.insert(PathBuf::from(unescape(target)));
                }
            }
        }
        MountTable { points }
    }

    /// Why the empty folder `dir` is likely a drive that is absent, if it is: a mount point
    /// of the table, or a folder on another filesystem than the folder it is in.
    pub fn absent_drive(&self, dir: &Path) -> Option<String> {
        if self.points.contains(dir) {
            return Some(format!(
                "{} is empty, and it is a mount point: its drive is not mounted now, so what was \
                 indexed from it is kept",
                dir.display()
            ));
        }
        if on_another_filesystem(dir) {
            return Some(format!(
                "{} is empty, and it is on another filesystem than its parent folder: a drive \
                 without its files now, so what was indexed from it is kept",
                dir.display()
            ));
        }
        None
    }
}

/// fstab and mountinfo write a space as `\040` (and a tab, newline or backslash likewise).
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(unix)]
fn on_another_filesystem(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(parent) = dir.parent() else {
        return false;
    };
    match (std::fs::metadata(dir), std::fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn on_another_filesystem(_dir: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_and_mountinfo_name_the_mount_points() {
        let fstab = "# <file system> <mount point> <type>\n\
                     UUID=1234 / ext4 defaults 0 1\n\
                     /dev/sdb1 /media/archive\\040drive ext4 noauto 0 0\n";
        let mountinfo = "36 35 98:0 / /mnt/auto rw,relatime - autofs systemd-1 rw\n";
        let table = MountTable::parse(fstab, mountinfo);
        assert!(table.points.contains(Path::new("/media/archive drive")));
        assert!(table.points.contains(Path::new("/mnt/auto")));
        assert!(!table.points.contains(Path::new("/")));
        assert!(table
            .absent_drive(Path::new("/mnt/auto"))
            .is_some_and(|why| why.contains("mount point")));
    }

    #[test]
    fn an_ordinary_empty_folder_is_just_empty() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(MountTable::default().absent_drive(&empty), None);
    }
}
