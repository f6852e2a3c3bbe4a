//! Generation speeds measured on this machine, per engine and device, so that `auto` picks
//! the engine that is faster here rather than by rule. `cairn bench generation --record`
//! writes them; the file lives in the platform's config folder (`CAIRN_SPEEDS` overrides).

use crate::{HostError, HostResult};
use cairn_models::Speeds;
use std::path::{Path, PathBuf};

/// Where the speeds are kept.
pub struct SpeedFile(PathBuf);

impl SpeedFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SpeedFile(path.into())
    }

    /// `$CAIRN_SPEEDS`, or `generation-speeds.json` in the platform's config folder.
    pub fn default_location() -> Option<SpeedFile> {
        if let Some(file) = std::env::var_os("CAIRN_SPEEDS") {
            return Some(SpeedFile(PathBuf::from(file)));
        }
        directories::ProjectDirs::from("", "", "cairn")
            .map(|d| SpeedFile(d.config_dir().join("generation-speeds.json")))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The recorded speeds; none when the file does not exist.
    pub fn load(&self) -> HostResult<Speeds> {
        match std::fs::read(&self.0) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| HostError::Malformed {
                path: self.0.display().to_string(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Speeds::default()),
            Err(source) => Err(self.io("read", source)),
        }
    }

    pub fn save(&self, speeds: &Speeds) -> HostResult<()> {
        if let Some(dir) = self.0.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io("create the folder of", e))?;
        }
        let tmp = self.0.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(speeds).map_err(|source| HostError::Malformed {
            path: self.0.display().to_string(),
            source,
        })?;
        std::fs::write(&tmp, json).map_err(|e| self.io("write", e))?;
        std::fs::rename(&tmp, &self.0).map_err(|e| self.io("write", e))?;
        Ok(())
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> HostError {
        HostError::Io {
            action,
            path: self.0.display().to_string(),
            source,
        }
    }
}
