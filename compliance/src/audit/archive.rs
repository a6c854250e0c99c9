//! The scan's archive on disk: every block a scan applied, as the chain gave it (its
//! height, time, operator commands and applied transactions, in their canonical
//! encodings), appended block by block. A later scan replays the archive into a fresh
//! ledger (decrypting again: the archive holds no plaintext, so it is no more
//! sensitive than the chain itself) and fetches from the node only the blocks after
//! it.
//!
//! ```text
//! archive = "SABLEAUD" || version:u8(=1) || block*
//! block   = height:u64 || timestamp_ms:u64 || count:u32 || (len:u32 || admin command)*
//!           || count:u32 || (len:u32 || transaction)*
//! ```

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use sable_circuits::{
    encoding::{DecodeError, Reader, Writer},
    transaction::Transaction,
};
use sable_primitives::{admin::AdminCommand, block::TxId};

use super::scan::ReadBlock;

const MAGIC: &[u8; 8] = b"SABLEAUD";
const VERSION: u8 = 1;
/// The most operator commands or transactions one archived block may hold.
const MAX_ITEMS: usize = 1 << 16;
/// The most bytes one archived command or transaction may take.
const MAX_ITEM_BYTES: usize = 1 << 22;

/// Why an archive cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The archive.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not an archive of this version, or is damaged.
    #[error("{path} is not a Sable audit archive, or is damaged: {what}")]
    Corrupt {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// An audit archive (see the module docs).
#[derive(Debug)]
pub struct ScanArchive {
    path: PathBuf,
}

fn encode(block: &ReadBlock) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(block.height).u64(block.timestamp_ms);
    w.count(block.admin.len());
    for cmd in &block.admin {
        w.var_bytes(&cmd.to_bytes());
    }
    w.count(block.txs.len());
    for (_, tx) in &block.txs {
        w.var_bytes(&tx.to_bytes());
    }
    w.into_bytes()
}

fn decode(r: &mut Reader<'_>) -> Result<ReadBlock, DecodeError> {
    let height = r.u64("height")?;
    let timestamp_ms = r.u64("timestamp")?;
    let admin = (0..r.count("operator commands", MAX_ITEMS)?)
        .map(|_| AdminCommand::from_bytes(r.var_bytes("operator command", MAX_ITEM_BYTES)?))
        .collect::<Result<_, _>>()?;
    let txs = (0..r.count("transactions", MAX_ITEMS)?)
        .map(|_| {
            let bytes = r.var_bytes("transaction", MAX_ITEM_BYTES)?;
            Ok((TxId::of(bytes), Transaction::from_bytes(bytes)?))
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(ReadBlock {
        height,
        timestamp_ms,
        txs,
        admin,
    })
}

impl ScanArchive {
    /// The archive at `path` (created on the first block appended).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        ScanArchive { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
        |source| ArchiveError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Every block archived, in order (none when the file does not exist yet).
    pub fn read(&self) -> Result<Vec<ReadBlock>, ArchiveError> {
        let mut bytes = Vec::new();
        match File::open(&self.path) {
            Ok(mut f) => f.read_to_end(&mut bytes).map_err(self.io())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io()(e)),
        };
        let corrupt = |what: String| ArchiveError::Corrupt {
            path: self.path.clone(),
            what,
        };
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("no archive header".into()))?;
        let (version, mut rest) = body
            .split_first()
            .ok_or_else(|| corrupt("no version".into()))?;
        if *version != VERSION {
            return Err(corrupt(format!(
                "version {version}, this program reads {VERSION}"
            )));
        }
        let mut blocks = Vec::new();
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_at_checked(4)
                .ok_or_else(|| corrupt(format!("truncated after {} blocks", blocks.len())))?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let (record, tail) = tail
                .split_at_checked(len)
                .ok_or_else(|| corrupt(format!("truncated after {} blocks", blocks.len())))?;
            let mut r = Reader::new(record);
            let block = decode(&mut r)
                .and_then(|b| r.finish().map(|()| b))
                .map_err(|e| corrupt(format!("block {}: {e}", blocks.len() + 1)))?;
            blocks.push(block);
            rest = tail;
        }
        Ok(blocks)
    }

    /// Appends `blocks` (after every block already archived) and syncs the file.
    pub fn append(&self, blocks: &[ReadBlock]) -> Result<(), ArchiveError> {
        let fresh = !self.path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(self.io())?;
        let mut out = BufWriter::new(file);
        if fresh {
            out.write_all(MAGIC).map_err(self.io())?;
            out.write_all(&[VERSION]).map_err(self.io())?;
        }
        for block in blocks {
            let record = encode(block);
            let len = u32::try_from(record.len()).map_err(|_| ArchiveError::Corrupt {
                path: self.path.clone(),
                what: format!("block {} is too large to archive", block.height),
            })?;
            out.write_all(&len.to_le_bytes()).map_err(self.io())?;
            out.write_all(&record).map_err(self.io())?;
        }
        let file = out.into_inner().map_err(|e| self.io()(e.into_error()))?;
        file.sync_all().map_err(self.io())
    }
}
