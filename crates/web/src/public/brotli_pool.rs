//! brotli compression that keeps the encoder's large tables for the next compression.
//!
//! Each brotli encoder allocates hash tables of a quarter to a whole megabyte (quality 3 and
//! 5), whatever the input's length. Allocations that large come straight from the kernel
//! (glibc maps them; herald runs with `MALLOC_MMAP_THRESHOLD_=131072`), so every compression
//! faulted its tables in page by page and unmapped them afterwards, which costs a TLB
//! shootdown on every core. A render compresses a handful of small pieces, and perf on a
//! 10k page's write storm put those page faults at 9% of the writing node's CPU. Here the
//! tables go back to a small shared pool instead, bounded by [`KEPT_BYTES`], and are cleared
//! before reuse, as a fresh allocation would be. Only the hash tables are pooled (`u32`
//! buckets, `u16` counts): their sizes depend on the quality alone, so they are found again,
//! where the ring buffer and command buffers follow each input's length and would only
//! crowd them out.

use brotli::enc::{BrotliAlloc, BrotliEncoderParams};
use brotli::{Allocator, SliceWrapper, SliceWrapperMut};
use std::any::{Any, TypeId};
use std::sync::Mutex;

/// Blocks at least this large are pooled; smaller ones come and go through malloc.
const LARGE: usize = 32 << 10;
/// The most the pool keeps, in bytes: a quality 5 encoder's tables (about 1.1 MB) and a
/// few quality 3 ones (256 KB each), enough for the renders and settles that run at once.
const KEPT_BYTES: usize = 2 << 20;

/// Freed hash tables, each a `Box<[u32]>` or `Box<[u16]>` with its length in bytes, the
/// most recently freed last.
static POOL: Mutex<Vec<(usize, Box<dyn Any + Send>)>> = Mutex::new(Vec::new());

fn pool() -> std::sync::MutexGuard<'static, Vec<(usize, Box<dyn Any + Send>)>> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The encoder's allocator: [`POOL`] for large blocks.
#[derive(Debug, Default, Clone, Copy)]
struct Pooled;

/// A block of the encoder's memory.
struct Block<T>(Box<[T]>);

impl<T> Default for Block<T> {
    fn default() -> Self {
        Block(Box::new([]))
    }
}

impl<T> SliceWrapper<T> for Block<T> {
    fn slice(&self) -> &[T] {
        &self.0
    }
}

impl<T> SliceWrapperMut<T> for Block<T> {
    fn slice_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

/// Whether blocks of `T`s of `len` are pooled.
fn pooled<T: 'static>(len: usize) -> bool {
    let t = TypeId::of::<T>();
    (t == TypeId::of::<u32>() || t == TypeId::of::<u16>()) && size_of::<T>() * len >= LARGE
}

impl<T: Clone + Default + Send + 'static> Allocator<T> for Pooled {
    type AllocatedMemory = Block<T>;

    fn alloc_cell(&mut self, len: usize) -> Block<T> {
        if pooled::<T>(len) {
            let reused = {
                let mut pool = pool();
                pool.iter()
                    .position(|(_, b)| b.downcast_ref::<Box<[T]>>().is_some_and(|b| b.len() == len))
                    .map(|i| pool.swap_remove(i).1)
            };
            if let Some(Ok(b)) = reused.map(|b| b.downcast::<Box<[T]>>()) {
                let mut b = *b;
                b.fill(T::default());
                return Block(b);
            }
        }
        Block(vec![T::default(); len].into_boxed_slice())
    }

    fn free_cell(&mut self, data: Block<T>) {
        if pooled::<T>(data.0.len()) {
            let bytes = size_of::<T>() * data.0.len();
            let mut pool = pool();
            pool.push((bytes, Box::new(data.0)));
            // Over the budget, the tables freed longest ago go.
            let mut kept: usize = pool.iter().map(|(n, _)| n).sum();
            while kept > KEPT_BYTES {
                kept -= pool.remove(0).0;
            }
        }
    }
}

impl BrotliAlloc for Pooled {}

/// `text` as one brotli stream made with `params`.
pub fn compress(text: &[u8], params: &BrotliEncoderParams) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 + 64);
    let (mut input, mut inbuf, mut outbuf) = (text, [0u8; 4096], [0u8; 4096]);
    // Reading a slice and writing to a Vec cannot fail.
    let _ = brotli::BrotliCompressCustomAlloc(
        &mut input,
        &mut out,
        &mut inbuf,
        &mut outbuf,
        params,
        Pooled,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard(text: &[u8], params: &BrotliEncoderParams) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = brotli::BrotliCompress(&mut &text[..], &mut out, params);
        out
    }

    #[test]
    fn reused_tables_compress_exactly_as_fresh_ones() {
        // Texts of different lengths and content, at both qualities herald uses, one after
        // another: each reuses the tables the one before left dirty.
        let words = b"status operational degraded outage <div class=\"row\">";
        let texts: Vec<Vec<u8>> = (0..6)
            .map(|n| {
                (0..(n + 1) * 9_000)
                    .map(|i| words[i * (n + 3) % words.len()])
                    .collect()
            })
            .collect();
        for quality in [3, 5] {
            let params = BrotliEncoderParams {
                quality,
                lgwin: 22,
                ..BrotliEncoderParams::default()
            };
            for text in texts.iter().chain(texts.iter().rev()) {
                assert_eq!(compress(text, &params), standard(text, &params));
            }
        }
        assert!(
            !pool().is_empty(),
            "the encoder's tables went back to the pool"
        );
    }
}
