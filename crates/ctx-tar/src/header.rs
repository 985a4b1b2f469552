//! Byte-exact USTAR headers, with a PAX `'x'` header only where USTAR cannot hold a value.
//!
//! The layout follows what Go's `archive/tar` writes for the docker CLI:
//! numeric fields are zero-padded octal ending in NUL, the checksum is `%06o\0 `,
//! devmajor/devminor are `0000000\0` even for non-devices, uid/gid are 0 and the user
//! and group names empty. A value USTAR cannot hold goes to a PAX record (`path`,
//! `linkpath`, `size`, `mtime`, `SCHILY.xattr.security.capability`); the USTAR field then
//! holds the ASCII bytes of the value cut to the field, or 0.

use crate::entry::Entry;

/// Size of a tar block.
pub(crate) const BLOCK: usize = 512;
/// The end-of-archive marker: two zero blocks.
pub(crate) const TRAILER_LEN: u64 = 2 * BLOCK as u64;

const NAME: std::ops::Range<usize> = 0..100;
const MODE: std::ops::Range<usize> = 100..108;
const UID: std::ops::Range<usize> = 108..116;
const GID: std::ops::Range<usize> = 116..124;
const SIZE: std::ops::Range<usize> = 124..136;
const MTIME: std::ops::Range<usize> = 136..148;
const CHKSUM: std::ops::Range<usize> = 148..156;
const TYPEFLAG: usize = 156;
const LINKNAME: std::ops::Range<usize> = 157..257;
const MAGIC: std::ops::Range<usize> = 257..263;
const VERSION: std::ops::Range<usize> = 263..265;
const DEVMAJOR: std::ops::Range<usize> = 329..337;
const DEVMINOR: std::ops::Range<usize> = 337..345;
const PREFIX: std::ops::Range<usize> = 345..500;

/// The largest value an 11-digit octal field holds (sizes and mtimes).
const MAX_OCTAL_11: u64 = 0o77777777777;

/// The bytes of the data padded to whole blocks.
pub(crate) fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// The length of [`encode`]'s output for this entry.
pub(crate) fn encoded_len(entry: &Entry) -> u64 {
    let fields = Fields::of(entry);
    let pax = fields.pax_data();
    match pax {
        Some(data) => BLOCK as u64 + padded(data.len() as u64) + BLOCK as u64,
        None => BLOCK as u64,
    }
}

/// The header blocks of one entry: an optional PAX header with its records, then the
/// USTAR header. The entry's data (for files) follows these.
pub(crate) fn encode(entry: &Entry) -> Vec<u8> {
    let fields = Fields::of(entry);
    let mut out = Vec::with_capacity(BLOCK);
    match fields.pax_data() {
        None => out.extend_from_slice(&fields.ustar_block()),
        Some(data) => {
            out.extend_from_slice(&pax_block(fields.name, data.len() as u64));
            out.extend_from_slice(&data);
            out.resize(padded(out.len() as u64) as usize, 0);
            out.extend_from_slice(&fields.pax_main_block());
        }
    }
    out
}

/// The header values of one entry.
struct Fields<'a> {
    name: &'a [u8],
    target: &'a [u8],
    typeflag: u8,
    mode: u32,
    size: u64,
    mtime: i64,
    device: (u32, u32),
    capability: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn of(entry: &'a Entry) -> Fields<'a> {
        Fields {
            name: &entry.raw.name,
            target: &entry.raw.target,
            typeflag: entry.kind.typeflag(),
            mode: entry.mode,
            size: entry.size,
            mtime: entry.raw.mtime,
            device: entry.raw.device,
            capability: entry.raw.capability.as_deref(),
        }
    }

    fn mtime_fits(&self) -> bool {
        u64::try_from(self.mtime).is_ok_and(|t| t <= MAX_OCTAL_11)
    }

    /// The PAX records when USTAR cannot hold this entry, else `None`.
    ///
    /// As in Go, a name that is long or not ASCII always gets a `path` record, but the
    /// records are only written when something else needs PAX or the name cannot be split
    /// into USTAR's prefix and name fields.
    fn pax_data(&self) -> Option<Vec<u8>> {
        let mut needs_pax = false;
        let mut records: Vec<(&[u8], Vec<u8>)> = Vec::new();
        if let Some(cap) = self.capability {
            records.push((b"SCHILY.xattr.security.capability", cap.to_vec()));
            needs_pax = true;
        }
        if !fits_ustar_string(self.target, LINKNAME.len()) {
            records.push((b"linkpath", self.target.to_vec()));
            needs_pax = true;
        }
        if !self.mtime_fits() {
            records.push((b"mtime", self.mtime.to_string().into_bytes()));
            needs_pax = true;
        }
        if !fits_ustar_string(self.name, NAME.len()) {
            records.push((b"path", self.name.to_vec()));
            if split_ustar_path(self.name).is_none() {
                needs_pax = true;
            }
        }
        if self.size > MAX_OCTAL_11 {
            records.push((b"size", self.size.to_string().into_bytes()));
            needs_pax = true;
        }
        if !needs_pax {
            return None;
        }
        records.sort();
        let mut data = Vec::new();
        for (key, value) in records {
            pax_record(&mut data, key, &value);
        }
        Some(data)
    }

    /// The common part of the USTAR block.
    fn base_block(&self, name: &[u8], target: &[u8]) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        put_str(&mut block[NAME], name);
        put_octal(&mut block[MODE], u64::from(self.mode));
        put_octal(&mut block[UID], 0);
        put_octal(&mut block[GID], 0);
        put_octal(
            &mut block[SIZE],
            if self.size > MAX_OCTAL_11 {
                0
            } else {
                self.size
            },
        );
        let mtime = if self.mtime_fits() {
            self.mtime as u64
        } else {
            0
        };
        put_octal(&mut block[MTIME], mtime);
        block[TYPEFLAG] = self.typeflag;
        put_str(&mut block[LINKNAME], target);
        put_octal(&mut block[DEVMAJOR], u64::from(self.device.0));
        put_octal(&mut block[DEVMINOR], u64::from(self.device.1));
        block
    }

    /// The header when no PAX header is needed (names may use the prefix field).
    fn ustar_block(&self) -> [u8; BLOCK] {
        let (prefix, name) = split_ustar_path(self.name).unwrap_or((&[], self.name));
        let mut block = self.base_block(name, self.target);
        put_str(&mut block[PREFIX], prefix);
        finish(&mut block);
        block
    }

    /// The header that follows a PAX header: ASCII-only values cut to their fields.
    fn pax_main_block(&self) -> [u8; BLOCK] {
        let mut block = self.base_block(&to_ascii(self.name), &to_ascii(self.target));
        finish(&mut block);
        block
    }
}

/// The `'x'` header block announcing `size` bytes of PAX records for entry `name`.
fn pax_block(name: &[u8], size: u64) -> [u8; BLOCK] {
    let (dir, base) = match name.iter().rposition(|&b| b == b'/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => (&b""[..], name),
    };
    let mut pax_name = Vec::with_capacity(name.len() + 14);
    pax_name.extend_from_slice(dir);
    pax_name.extend_from_slice(b"PaxHeaders.0");
    if !base.is_empty() {
        pax_name.push(b'/');
        pax_name.extend_from_slice(base);
    }
    let mut pax_name = to_ascii(&pax_name);
    pax_name.truncate(NAME.len());
    while pax_name.last() == Some(&b'/') {
        pax_name.pop();
    }
    let mut block = [0u8; BLOCK];
    put_str(&mut block[NAME], &pax_name);
    put_octal(&mut block[MODE], 0);
    put_octal(&mut block[UID], 0);
    put_octal(&mut block[GID], 0);
    put_octal(&mut block[SIZE], size);
    put_octal(&mut block[MTIME], 0);
    block[TYPEFLAG] = b'x';
    finish(&mut block);
    block
}

/// One `"<len> <key>=<value>\n"` record, where `<len>` counts the whole record.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + body.to_string().len();
    if len.to_string().len() + body != len {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Sets magic and version and writes the checksum as `%06o\0 `.
fn finish(block: &mut [u8; BLOCK]) {
    block[MAGIC].copy_from_slice(b"ustar\0");
    block[VERSION].copy_from_slice(b"00");
    block[CHKSUM].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    write_octal(&mut block[CHKSUM.start..CHKSUM.start + 6], u64::from(sum));
    block[CHKSUM.start + 6] = 0;
    block[CHKSUM.start + 7] = b' ';
}

/// Zero-padded octal filling all but the field's last byte, which stays NUL.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let fits = digits >= 22 || value >> (3 * digits) == 0;
    debug_assert!(fits, "value {value} does not fit {digits} octal digits");
    write_octal(&mut field[..digits], if fits { value } else { 0 });
    field[digits] = 0;
}

/// `value` in octal, zero-padded to fill `out` (the highest digits dropped if it does not
/// fit, which callers rule out).
fn write_octal(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value & 7) as u8;
        value >>= 3;
    }
}

/// Copies as much of `value` as fits; the rest of the field stays NUL.
fn put_str(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// True when USTAR holds `value` as is: ASCII without NUL, and short enough.
fn fits_ustar_string(value: &[u8], len: usize) -> bool {
    value.len() <= len && is_ascii(value)
}

fn is_ascii(value: &[u8]) -> bool {
    value.iter().all(|&b| b != 0 && b < 0x80)
}

/// The ASCII bytes of `value` (every byte of a multi-byte or invalid sequence dropped).
fn to_ascii(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .copied()
        .filter(|&b| b != 0 && b < 0x80)
        .collect()
}

/// Splits a long ASCII name at a `/` into USTAR's prefix (≤ 155 B) and name (≤ 100 B).
fn split_ustar_path(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= NAME.len() || !is_ascii(name) {
        return None;
    }
    let mut limit = name.len();
    if limit > PREFIX.len() + 1 {
        limit = PREFIX.len() + 1;
    } else if name[limit - 1] == b'/' {
        limit -= 1;
    }
    let slash = name[..limit].iter().rposition(|&b| b == b'/')?;
    let (prefix, rest) = (&name[..slash], &name[slash + 1..]);
    if slash == 0 || rest.is_empty() || rest.len() > NAME.len() || prefix.len() > PREFIX.len() {
        return None;
    }
    Some((prefix, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryKind, RawParts, Source};

    fn entry(kind: EntryKind, name: &[u8], mode: u32, size: u64, mtime: i64) -> Entry {
        Entry::new(
            kind,
            name.to_vec(),
            mode,
            size,
            RawParts {
                target: Vec::new(),
                mtime,
                device: (0, 0),
                capability: None,
                source: Source::None,
            },
        )
    }

    fn field(block: &[u8], range: std::ops::Range<usize>) -> &[u8] {
        &block[range]
    }

    #[test]
    fn plain_file_header_is_byte_exact() {
        let block = encode(&entry(EntryKind::File, b"a.txt", 0o644, 3, 1_620_216_000));
        assert_eq!(block.len(), 512);
        assert_eq!(field(&block, NAME.start..NAME.start + 6), b"a.txt\0");
        assert_eq!(field(&block, MODE), b"0000644\0");
        assert_eq!(field(&block, UID), b"0000000\0");
        assert_eq!(field(&block, GID), b"0000000\0");
        assert_eq!(field(&block, SIZE), b"00000000003\0");
        assert_eq!(field(&block, MTIME), b"14044504300\0");
        assert_eq!(block[TYPEFLAG], b'0');
        assert_eq!(field(&block, MAGIC), b"ustar\0");
        assert_eq!(field(&block, VERSION), b"00");
        assert_eq!(field(&block, 265..329), &[0u8; 64][..]);
        assert_eq!(field(&block, DEVMAJOR), b"0000000\0");
        assert_eq!(field(&block, DEVMINOR), b"0000000\0");
        let chk = field(&block, CHKSUM);
        assert_eq!(&chk[6..], b"\0 ");
        let mut copy = block.clone();
        copy[CHKSUM].fill(b' ');
        let sum: u32 = copy.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(&chk[..6], format!("{sum:06o}").as_bytes());
    }

    #[test]
    fn pax_record_length_counts_itself() {
        let mut out = Vec::new();
        pax_record(&mut out, b"path", b"caf\xc3\xa9.txt");
        assert_eq!(out, b"18 path=caf\xc3\xa9.txt\n");
        let mut out = Vec::new();
        // 1 + 94 + 3 = 98 bytes of body: 98 + 2 digits = 100, which needs 3 digits.
        pax_record(&mut out, b"a", &[b'x'; 94]);
        assert_eq!(out.len(), 101);
        assert!(out.starts_with(b"101 a="));
    }

    #[test]
    fn long_splittable_path_uses_prefix_not_pax() {
        let dir = "d".repeat(60);
        let name = format!("{dir}/{dir}/{}", "f".repeat(90));
        let block = encode(&entry(EntryKind::File, name.as_bytes(), 0o644, 0, 0));
        assert_eq!(block.len(), 512);
        assert_eq!(
            &block[NAME.start..NAME.start + 90],
            "f".repeat(90).as_bytes()
        );
        assert_eq!(
            &block[PREFIX.start..PREFIX.start + 121],
            format!("{dir}/{dir}").as_bytes()
        );
        let dir_name = format!("{dir}/{dir}/");
        let block = encode(&entry(EntryKind::Dir, dir_name.as_bytes(), 0o755, 0, 0));
        assert_eq!(
            &block[NAME.start..NAME.start + 61],
            format!("{dir}/").as_bytes()
        );
        assert_eq!(&block[PREFIX.start..PREFIX.start + 60], dir.as_bytes());
    }

    #[test]
    fn non_utf8_name_goes_to_pax_and_ascii_filtered_field() {
        let out = encode(&entry(EntryKind::File, b"bad-\xff-name", 0o644, 0, 0));
        assert_eq!(out.len(), 3 * 512);
        assert_eq!(&out[..22], b"PaxHeaders.0/bad--name");
        assert_eq!(out[TYPEFLAG], b'x');
        assert_eq!(&out[DEVMAJOR], &[0u8; 8]);
        assert_eq!(&out[512..512 + 20], b"19 path=bad-\xff-name\n\0");
        assert_eq!(&out[1024..1024 + 10], b"bad--name\0");
    }

    #[test]
    fn odd_mtimes_and_huge_sizes_go_to_pax() {
        let out = encode(&entry(EntryKind::File, b"old.txt", 0o644, 0, -315_619_200));
        assert_eq!(&out[512..512 + 20], b"20 mtime=-315619200\n");
        assert_eq!(&out[1024 + MTIME.start..1024 + MTIME.end], b"00000000000\0");
        let out = encode(&entry(EntryKind::File, b"big", 0o644, 9_663_676_416, 0));
        assert_eq!(&out[512..512 + 19], b"19 size=9663676416\n");
        assert_eq!(&out[1024 + SIZE.start..1024 + SIZE.end], b"00000000000\0");
        let out = encode(&entry(EntryKind::Dir, b"sub/", 0o755, 0, 10_413_792_000));
        assert_eq!(&out[..17], b"sub/PaxHeaders.0\0");
    }

    #[test]
    fn long_unsplittable_name_keeps_first_100_bytes() {
        let name = format!("sub/{}", "n".repeat(120));
        let out = encode(&entry(EntryKind::File, name.as_bytes(), 0o644, 0, 0));
        assert_eq!(
            &out[..100],
            &format!("sub/PaxHeaders.0/{}", "n".repeat(120)).as_bytes()[..100]
        );
        assert_eq!(&out[1024..1124], &name.as_bytes()[..100]);
        assert_eq!(
            encoded_len(&entry(EntryKind::File, name.as_bytes(), 0, 0, 0)),
            1536
        );
    }
}
