//! Outputs assembled from pieces compressed once each ([`Fragment`]), so that re-rendering a
//! large document after a small change compresses only the pieces that changed.
//!
//! A page with hundreds of components has a home page of megabytes (90 daily bars each) and
//! v2 documents of hundreds of kilobytes; compressing them whole with gzip and brotli takes
//! tens of milliseconds, on every write. Instead each piece (a component's row, a run of
//! components' JSON) keeps its bytes in three forms: as they are; as raw DEFLATE blocks
//! ended by a sync flush (byte aligned, not final, starting from an empty window, so pieces
//! can follow each other in one DEFLATE stream); and as a brotli stream made to be
//! concatenated (`catable`). [`assemble`] then joins the pieces of a document: the bytes, a
//! gzip member (header, the pieces' blocks, a final empty block, the CRC-32 combined from
//! the pieces' and the length), and a brotli stream (`brotli::concat::BroCatli`). The ETag
//! is a hash of the pieces' hashes.
//!
//! Pieces compress a little worse than a whole document would (none refers back to an
//! earlier one), which is the price of never compressing the unchanged ones again.

use axum::http::StatusCode;
use brotli::concat::{BroCatli, BroCatliResult};
use brotli::enc::BrotliEncoderParams;
use flate2::{Compress, Compression, FlushCompress};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use super::output::{Kind, Output};

/// The brotli window of every piece (BroCatli needs later pieces' windows no larger than the
/// first's).
const LGWIN: i32 = 22;
/// Compression levels: gzip as for whole outputs; brotli as for whole outputs on large
/// pieces, and lower on small ones, where quality 5's encoder set-up (about a megabyte of
/// tables to allocate and clear) costs more than the compression itself.
const GZIP_LEVEL: u32 = 6;
const BROTLI_QUALITY: i32 = 5;
const BROTLI_QUALITY_SMALL: i32 = 3;
/// Pieces smaller than this use [`BROTLI_QUALITY_SMALL`].
const SMALL: usize = 64 << 10;

/// Where a piece may stand in a document: brotli streams are made differently for the
/// first piece (it carries the stream's header) and for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// The first piece of a document.
    First,
    /// Any later piece.
    Later,
}

/// One piece of a document, in every encoding. Each is held at its exact length: a page
/// with long timelines keeps tens of thousands of pieces, and the compressors' working
/// slack (kilobytes each) would outweigh the pieces.
#[derive(Debug)]
pub struct Fragment {
    /// The bytes.
    pub text: Box<[u8]>,
    deflate: Box<[u8]>,
    brotli: Box<[u8]>,
    /// The CRC-32 of the bytes, and what appending them multiplies an earlier CRC by
    /// ([`crc_shift`]): a document's CRC is then one multiplication per piece.
    crc: u32,
    shift: u32,
    digest: [u8; 32],
}

/// The reflected CRC-32 polynomial (gzip's).
const CRC_POLY: u32 = 0xedb8_8320;

/// `a(x) · b(x)` modulo the CRC polynomial, reflected (zlib's `multmodp`); `a` not zero.
fn crc_multiply(a: u32, mut b: u32) -> u32 {
    let mut p = 0u32;
    for i in 0..32 {
        p ^= b & ((a >> (31 - i)) & 1).wrapping_neg();
        b = (b >> 1) ^ ((b & 1).wrapping_neg() & CRC_POLY);
    }
    p
}

/// `x^(8·len)` modulo the CRC polynomial, reflected (zlib's `x8nmodp`): the CRC of `A`
/// followed by `len` bytes `B` is `crc_multiply(crc_shift(len), crc(A)) ^ crc(B)`
/// (zlib's `crc32_combine_op`). `crc32fast::Hasher::combine` works this out again on every
/// call, a few dozen multiplications; a piece works it out once.
fn crc_shift(len: usize) -> u32 {
    let (mut p, mut square, mut n) = (0x8000_0000u32, 0x0080_0000u32, len);
    while n != 0 {
        if n & 1 != 0 {
            p = crc_multiply(square, p);
        }
        square = crc_multiply(square, square);
        n >>= 1;
    }
    p
}

thread_local! {
    /// A DEFLATE compressor per thread, reset for each piece: making one allocates and
    /// clears its tables, which costs more than compressing a small piece.
    static DEFLATE: std::cell::RefCell<Compress> =
        std::cell::RefCell::new(Compress::new(Compression::new(GZIP_LEVEL), false));
}

/// Raw DEFLATE blocks of `text`, ended by a sync flush: an empty stored block that leaves
/// the stream byte aligned and not final, so another piece's blocks may follow.
fn deflate(text: &[u8]) -> Vec<u8> {
    DEFLATE.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = Vec::with_capacity(text.len() / 3 + 128);
        loop {
            out.reserve(4096);
            let read = usize::try_from(c.total_in())
                .unwrap_or(text.len())
                .min(text.len());
            if c.compress_vec(&text[read..], &mut out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            // The flush is complete once a call leaves output space unused (zlib's rule).
            let all_in = usize::try_from(c.total_in()).unwrap_or(0) >= text.len();
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        out
    })
}

fn brotli(text: &[u8], place: Place) -> Vec<u8> {
    // The first piece's header declares the stream's window: LGWIN. A later piece's window
    // need be no larger than the piece (the encoder's tables follow it, and clearing large
    // tables costs more than compressing a small piece), and must be no larger than LGWIN.
    let fits = (usize::BITS - text.len().max(1).leading_zeros()) as i32 + 1;
    let params = BrotliEncoderParams {
        quality: if text.len() < SMALL {
            BROTLI_QUALITY_SMALL
        } else {
            BROTLI_QUALITY
        },
        lgwin: match place {
            Place::First => LGWIN,
            Place::Later => fits.clamp(16, LGWIN),
        },
        appendable: true,
        catable: place == Place::Later,
        use_dictionary: place == Place::First,
        byte_align: true,
        size_hint: text.len(),
        ..BrotliEncoderParams::default()
    };
    super::brotli_pool::compress(text, &params)
}

impl Fragment {
    /// `text`, compressed for standing at `place` in a document.
    pub fn new(text: Vec<u8>, place: Place) -> Fragment {
        Fragment {
            crc: crc32fast::hash(&text),
            shift: crc_shift(text.len()),
            deflate: deflate(&text).into_boxed_slice(),
            brotli: brotli(&text, place).into_boxed_slice(),
            digest: Sha256::digest(&text).into(),
            text: text.into_boxed_slice(),
        }
    }

    /// The bytes' length.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

fn gzip(parts: &[Arc<Fragment>]) -> Vec<u8> {
    let size: usize = parts.iter().map(|p| p.deflate.len()).sum();
    let mut out = Vec::with_capacity(size + 20);
    // A gzip member header: no name, no time, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut crc = 0u32;
    let mut len: u64 = 0;
    for p in parts {
        out.extend_from_slice(&p.deflate);
        crc = crc_multiply(p.shift, crc) ^ p.crc;
        len += p.text.len() as u64;
    }
    // The final block: fixed Huffman codes, nothing but the end-of-block code.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&((len & 0xffff_ffff) as u32).to_le_bytes());
    out
}

/// One brotli stream of the pieces' streams (the first's header declares the window).
/// `None` if they cannot be joined, which should not happen: the joiner checks what it
/// reads, and its internal assertions are caught rather than let through.
fn brotli_join(parts: &[Arc<Fragment>]) -> Option<Vec<u8>> {
    std::panic::catch_unwind(|| join_brotli(parts))
        .ok()
        .flatten()
}

fn join_brotli(parts: &[Arc<Fragment>]) -> Option<Vec<u8>> {
    let size: usize = parts.iter().map(|p| p.brotli.len()).sum();
    let mut out = vec![0u8; size + 64];
    let mut at = 0;
    let mut cat = BroCatli::new();
    for p in parts {
        cat.new_brotli_file();
        let mut read = 0;
        while read < p.brotli.len() {
            match cat.stream(&p.brotli, &mut read, &mut out, &mut at) {
                BroCatliResult::Success | BroCatliResult::NeedsMoreInput => {}
                BroCatliResult::NeedsMoreOutput => out.resize(out.len() * 2, 0),
                _ => return None,
            }
        }
    }
    loop {
        match cat.finish(&mut out, &mut at) {
            BroCatliResult::Success => break,
            BroCatliResult::NeedsMoreOutput => out.resize(out.len() + 64, 0),
            _ => return None,
        }
    }
    out.truncate(at);
    Some(out)
}

/// An empty piece that opens every document: its brotli stream carries the header that
/// declares the window, so that every piece with text can be made as a [`Place::Later`]
/// one (made once, the header's large window costs nothing per render).
fn opening() -> &'static Arc<Fragment> {
    static OPENING: std::sync::OnceLock<Arc<Fragment>> = std::sync::OnceLock::new();
    OPENING.get_or_init(|| Arc::new(Fragment::new(Vec::new(), Place::First)))
}

/// The digest the output of `parts` is tagged by (see [`assemble`]): an earlier render's
/// output with this tag may be served instead of assembling them again.
pub fn digest(parts: &[Arc<Fragment>]) -> [u8; 32] {
    let mut tag = Sha256::new();
    tag.update(opening().digest);
    for p in parts {
        tag.update(p.digest);
    }
    tag.finalize().into()
}

/// The output made of `parts`, in order (each made for [`Place::Later`]).
pub fn assemble(kind: Kind, status: StatusCode, parts: &[Arc<Fragment>]) -> Output {
    assemble_digested(kind, status, parts, &digest(parts))
}

/// [`assemble`], given the parts' [`digest`].
pub fn assemble_digested(
    kind: Kind,
    status: StatusCode,
    parts: &[Arc<Fragment>],
    tag: &[u8; 32],
) -> Output {
    let parts: Vec<Arc<Fragment>> = std::iter::once(opening().clone())
        .chain(parts.iter().cloned())
        .collect();
    let gz = gzip(&parts);
    let br = brotli_join(&parts);
    let len = parts.iter().map(|p| p.len()).sum();
    // The uncompressed bytes are joined only if a client asks for them.
    let make = Arc::new(move || {
        let mut text = Vec::with_capacity(len);
        for p in &parts {
            text.extend_from_slice(&p.text);
        }
        text
    });
    Output::from_variants(kind, status, tag, (len, make), Some(gz), br)
}

/// Where a list of pieces goes in a rendered document: at `at` bytes into the first
/// occurrence of `marker` (after the previous insert's), which stays in the document unless
/// `remove` (an HTML comment put there for the purpose).
#[derive(Debug, Clone, Copy)]
pub struct Insert<'a> {
    /// Text that occurs where the pieces go.
    pub marker: &'a str,
    /// Where in the marker the pieces go.
    pub at: usize,
    /// Whether the marker itself is dropped.
    pub remove: bool,
}

impl Insert<'_> {
    /// An HTML comment standing for the pieces: removed.
    pub fn comment(marker: &str) -> Insert<'_> {
        Insert {
            marker,
            at: 0,
            remove: true,
        }
    }

    /// An empty JSON list `"name":[]`: the pieces go between its brackets.
    pub fn json_list(marker: &str) -> Insert<'_> {
        Insert {
            marker,
            at: marker.len() - 1,
            remove: false,
        }
    }
}

/// The pieces of `text` with each insert's pieces in place (in order); the text between
/// inserts comes from `pieces` by content. An insert whose marker is not found after the
/// previous one is dropped.
pub fn splice(
    text: &[u8],
    inserts: Vec<(Insert<'_>, Vec<Arc<Fragment>>)>,
    pieces: &Pieces,
) -> Vec<Arc<Fragment>> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut pending: Vec<u8> = Vec::new();
    let flush = |bytes: Vec<u8>, out: &mut Vec<Arc<Fragment>>| {
        out.push(pieces.get(bytes, Place::Later));
    };
    for (insert, list) in inserts {
        let marker = insert.marker.as_bytes();
        let Some(found) = memchr::memmem::find(&text[from..], marker).map(|p| p + from) else {
            continue;
        };
        pending.extend_from_slice(&text[from..found]);
        if !insert.remove {
            pending.extend_from_slice(&marker[..insert.at]);
        }
        flush(std::mem::take(&mut pending), &mut out);
        out.extend(list);
        from = found
            + if insert.remove {
                marker.len()
            } else {
                insert.at
            };
    }
    pending.extend_from_slice(&text[from..]);
    flush(pending, &mut out);
    out
}

/// Pieces made by earlier renders, by content: a piece whose bytes come out the same is
/// taken from here rather than compressed again. Each render keeps what it used and drops
/// the rest, so the cache holds one document's worth of pieces.
#[derive(Debug, Default)]
pub struct Pieces {
    inner: Mutex<PiecesInner>,
    /// Bytes compressed into new pieces so far (`made_bytes`).
    made: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct PiecesInner {
    previous: HashMap<Key, Arc<Fragment>>,
    current: HashMap<Key, Arc<Fragment>>,
    /// Values computed from a render's inputs ([`Pieces::memo`]), kept the same way.
    memo_previous: HashMap<u64, Memo>,
    memo_current: HashMap<u64, Memo>,
}

type Memo = Arc<dyn std::any::Any + Send + Sync>;

impl std::fmt::Debug for PiecesInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiecesInner")
            .field("pieces", &self.current.len())
            .field("memos", &self.memo_current.len())
            .finish()
    }
}

/// A piece's name in [`Pieces`]: a hash of its bytes, and its place.
type Key = (u64, Place);

/// One hasher key for the process (so equal bytes hash alike across renders).
pub fn hasher() -> &'static std::hash::RandomState {
    static STATE: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    STATE.get_or_init(std::hash::RandomState::new)
}

impl Pieces {
    /// A new piece of `text` at `place` (compressed now, and counted in `made_bytes`).
    pub fn make(&self, text: Vec<u8>, place: Place) -> Arc<Fragment> {
        Arc::new(self.compress(text, place))
    }

    fn compress(&self, text: Vec<u8>, place: Place) -> Fragment {
        self.made
            .fetch_add(text.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Fragment::new(text, place)
    }

    /// How many bytes renders have compressed into new pieces so far: what a write cost in
    /// compression, which should follow what it changed, not the page's size.
    pub fn made_bytes(&self) -> u64 {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The piece with these bytes at `place`: the earlier one, or made now.
    pub fn get(&self, text: Vec<u8>, place: Place) -> Arc<Fragment> {
        let key: Key = (hasher().hash_one(&text), place);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let found = inner
            .current
            .get(&key)
            .or_else(|| inner.previous.get(&key))
            .filter(|f| *f.text == *text)
            .cloned();
        let f = found.unwrap_or_else(|| self.make(text, place));
        inner.current.insert(key, f.clone());
        f
    }

    /// The piece made for inputs hashing to `key` (which must hash everything the piece
    /// shows): the earlier one, or `make()` now.
    pub fn get_or_make(
        &self,
        key: u64,
        place: Place,
        make: impl FnOnce() -> Vec<u8>,
    ) -> Arc<Fragment> {
        // A remembered value like any other, under a key of its own kind.
        self.memo(hasher().hash_one(("piece", key, place)), || {
            self.compress(make(), place)
        })
    }

    /// The value computed for inputs hashing to `key` (which must hash everything the value
    /// depends on): the earlier one, or `make()` now. Kept like pieces: a value no render
    /// used is forgotten at the end of the next.
    pub fn memo<T: std::any::Any + Send + Sync>(
        &self,
        key: u64,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let found = inner
                .memo_current
                .get(&key)
                .or_else(|| inner.memo_previous.get(&key))
                .cloned();
            if let Some(found) = found
                && let Ok(v) = found.clone().downcast::<T>()
            {
                inner.memo_current.insert(key, found);
                return v;
            }
        }
        let v = Arc::new(make());
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .memo_current
            .insert(key, v.clone());
        v
    }

    /// Ends a render: pieces it did not use are forgotten at the end of the next.
    pub fn end_render(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.previous = std::mem::take(&mut inner.current);
        inner.memo_previous = std::mem::take(&mut inner.memo_current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn pieces(texts: &[&str]) -> Vec<Arc<Fragment>> {
        texts
            .iter()
            .map(|t| Arc::new(Fragment::new(t.as_bytes().to_vec(), Place::Later)))
            .collect()
    }

    #[test]
    fn crcs_of_pieces_combine_into_the_documents() {
        let text: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for cuts in [
            vec![],
            vec![0, 0, 1],
            vec![1, 2, 3, 4096],
            vec![17, 65_535, 65_536, 69_999],
        ] {
            let mut crc = 0u32;
            let mut from = 0;
            for to in cuts.into_iter().chain([text.len()]) {
                let piece = &text[from..to];
                crc = crc_multiply(crc_shift(piece.len()), crc) ^ crc32fast::hash(piece);
                from = to;
            }
            assert_eq!(crc, crc32fast::hash(&text));
        }
    }

    fn check(texts: &[&str]) {
        let whole: String = texts.concat();
        let o = assemble(Kind::Json, StatusCode::OK, &pieces(texts));
        let parts: Vec<Arc<Fragment>> = std::iter::once(opening().clone())
            .chain(pieces(texts))
            .collect();
        assert_eq!(o.identity().body, whole.as_bytes());
        // The joined streams themselves (an output keeps them only when they are smaller).
        let mut gz = String::new();
        flate2::read::GzDecoder::new(&gzip(&parts)[..])
            .read_to_string(&mut gz)
            .unwrap();
        assert_eq!(gz, whole, "gzip");
        let mut br = String::new();
        brotli::Decompressor::new(&brotli_join(&parts).unwrap()[..], 4096)
            .read_to_string(&mut br)
            .unwrap();
        assert_eq!(br, whole, "brotli");
        if whole.len() > 10_000 {
            assert!(
                o.gzip.is_some() && o.br.is_some(),
                "large documents compress"
            );
        }
    }

    #[test]
    fn pieces_join_into_valid_gzip_and_brotli() {
        let row =
            "<li class=\"bar operational\"><span class=\"tip\">100% uptime</span></li>".repeat(90);
        check(&["<!doctype html><title>x</title>", &row, "", "<p>tail</p>"]);
        check(&["{\"a\":[", "1,2,3", ",4", "]}"]);
        check(&[&"x".repeat(200_000), &row, &"é€😀".repeat(3000)]);
        check(&["only one piece"]);
    }

    #[test]
    fn equal_pieces_are_reused_and_tags_follow_content() {
        let p = Pieces::default();
        let a = p.get(b"same".to_vec(), Place::Later);
        p.end_render();
        let b = p.get(b"same".to_vec(), Place::Later);
        assert!(Arc::ptr_eq(&a, &b), "the earlier piece is reused");
        p.end_render();
        p.end_render();
        let c = p.get(b"same".to_vec(), Place::Later);
        assert!(
            !Arc::ptr_eq(&a, &c),
            "pieces unused for a render are forgotten"
        );
        let x = assemble(Kind::Json, StatusCode::OK, &pieces(&["a", "b"]));
        let y = assemble(Kind::Json, StatusCode::OK, &pieces(&["a", "c"]));
        assert_ne!(x.tag, y.tag);
    }
}
