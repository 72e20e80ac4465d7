//! The memory provider's disk backup: every record as JSON, optionally
//! compressed, written atomically (temporary file, fsync, rename, fsync of
//! the directory) so that a crash leaves either the old backup or the new
//! one, never a torn file.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::BackupCompression;
use crate::error::{PersistenceError, Result};
use crate::model::Record;

const FORMAT: &str = "orbit-memory-backup";
const VERSION: u32 = 1;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const LZ4_MAGIC: &[u8] = &[0x04, 0x22, 0x4d, 0x18];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

#[derive(Serialize, Deserialize)]
struct BackupFile {
    format: String,
    version: u32,
    records: Vec<Record>,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> PersistenceError {
    move |source| PersistenceError::Io { context, source }
}

fn compress(json: Vec<u8>, compression: BackupCompression) -> std::io::Result<Vec<u8>> {
    match compression {
        BackupCompression::None => Ok(json),
        BackupCompression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&json)?;
            enc.finish()
        }
        BackupCompression::Lz4 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
            enc.write_all(&json)?;
            enc.finish().map_err(std::io::Error::other)
        }
        BackupCompression::Zstd => zstd::stream::encode_all(json.as_slice(), 3),
    }
}

/// Decompresses by the file's magic number rather than the configuration,
/// so that changing `compression` does not orphan the last backup.
fn decompress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if bytes.starts_with(GZIP_MAGIC) {
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    } else if bytes.starts_with(LZ4_MAGIC) {
        lz4_flex::frame::FrameDecoder::new(bytes).read_to_end(&mut out)?;
    } else if bytes.starts_with(ZSTD_MAGIC) {
        out = zstd::stream::decode_all(bytes)?;
    } else {
        out = bytes.to_vec();
    }
    Ok(out)
}

/// Writes `records` to `path` atomically.
pub(crate) fn write(path: &Path, records: Vec<Record>, compression: BackupCompression) -> Result<()> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io(format!("cannot create the directory of backup {shown}")))?;
    }
    let file = BackupFile { format: FORMAT.into(), version: VERSION, records };
    let json = serde_json::to_vec(&file).map_err(|e| PersistenceError::Corrupt(e.to_string()))?;
    let bytes = compress(json, compression).map_err(io(format!("cannot compress backup {shown}")))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp).map_err(io(format!("cannot create {}", tmp.display())))?;
        f.write_all(&bytes).map_err(io(format!("cannot write {}", tmp.display())))?;
        f.sync_all().map_err(io(format!("cannot fsync {}", tmp.display())))?;
    }
    fs::rename(&tmp, path).map_err(io(format!("cannot move {} to {shown}", tmp.display())))?;
    // The rename is durable only once the directory entry is.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(format!("cannot fsync the directory of {shown}")))?;
    }
    Ok(())
}

/// The records of the backup at `path`; none when there is no backup yet.
pub(crate) fn read(path: &Path) -> Result<Vec<Record>> {
    let shown = path.display().to_string();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PersistenceError::Io { context: format!("cannot read backup {shown}"), source: e }),
    };
    let corrupt = |reason: String| PersistenceError::CorruptBackup { path: shown.clone(), reason };
    let json = decompress(&bytes).map_err(|e| corrupt(format!("cannot decompress it: {e}")))?;
    let file: BackupFile = serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(corrupt(format!("unknown format {} version {}", file.format, file.version)));
    }
    Ok(file.records)
}
