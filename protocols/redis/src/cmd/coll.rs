//! Opening and saving collections (hashes, lists, sets, sorted sets).

use bytes::Bytes;

use crate::engine::ctx::Ctx;
use crate::engine::keys::{KeyType, Meta};
use crate::error::Result;

/// A collection being read or changed by a command.
#[derive(Debug)]
pub(crate) struct Handle {
    /// Current metadata (size updated as elements change).
    pub meta: Meta,
    /// The metadata as stored before the command, `None` for a new key.
    pub prev: Option<Meta>,
    /// Prefix of the elements' keys.
    pub prefix: Vec<u8>,
}

impl Handle {
    /// Number of elements.
    pub(crate) fn size(&self) -> u64 {
        self.meta.coll().map_or(0, |c| c.size)
    }

    /// Changes the element count by `delta`.
    pub(crate) fn grow(&mut self, delta: i64) {
        if let Some(c) = self.meta.coll_mut() {
            c.size = c.size.saturating_add_signed(delta);
        }
    }
}

/// The collection at `key` if it exists (WRONGTYPE if it is another type).
pub(crate) fn open(ctx: &mut Ctx<'_>, key: &[u8], ty: KeyType) -> Result<Option<Handle>> {
    Ok(ctx.typed(key, ty)?.map(|meta| {
        let prefix = ctx.prefix(key, &meta);
        Handle { prev: Some(meta.clone()), meta, prefix }
    }))
}

/// The collection at `key`, created empty (not yet saved) if missing.
pub(crate) fn open_or_create(ctx: &mut Ctx<'_>, key: &[u8], ty: KeyType) -> Result<Handle> {
    if let Some(h) = open(ctx, key, ty)? {
        return Ok(h);
    }
    let version = ctx.new_version();
    let meta = Meta::collection(ty, version);
    let prefix = ctx.prefix(key, &meta);
    Ok(Handle { meta, prev: None, prefix })
}

/// Writes the collection's metadata back; an emptied collection is deleted,
/// as Redis never keeps empty collections.
pub(crate) fn save(ctx: &mut Ctx<'_>, key: &[u8], h: &Handle) -> Result<()> {
    if h.size() == 0 {
        if let Some(prev) = &h.prev {
            ctx.delete(key, prev)?;
        }
        return Ok(());
    }
    if h.prev.as_ref() != Some(&h.meta) {
        ctx.put_meta(key, &h.meta, h.prev.as_ref())?;
    } else {
        // Elements changed but not the count: WATCH still sees a change.
        let db = ctx.db;
        ctx.touch(db, key);
    }
    Ok(())
}

/// Copies `b` into owned bytes.
pub(crate) fn owned(b: &[u8]) -> Bytes {
    Bytes::copy_from_slice(b)
}
