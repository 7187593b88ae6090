//! A minimal writer of uncompressed ("stored") zip archives, the container of NumPy's `.npz`.
//!
//! An `.npz` needs only stored entries, their CRC-32 (crc32fast) and the three fixed record
//! types, about a hundred lines; that is less to review than a general zip crate and its
//! dependencies.
//! Archives stay within the classic (non-zip64) limits: entries and offsets below 4 GiB.

use std::io::{self, Write};

/// Writes entries one after another, then the central directory on [`ZipWriter::finish`].
pub struct ZipWriter<W: Write> {
    out: W,
    offset: u64,
    entries: Vec<Entry>,
}

struct Entry {
    name: String,
    crc: u32,
    size: u32,
    offset: u32,
}

/// 1980-01-01 00:00 in MS-DOS date/time form: archives are reproducible byte for byte.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;
/// General-purpose flag: the entry name is UTF-8.
const UTF8_NAME: u16 = 1 << 11;

fn too_large(what: &str) -> io::Error {
    io::Error::other(format!(
        "{what} exceeds the 4 GiB limit of a zip archive without zip64"
    ))
}

impl<W: Write> ZipWriter<W> {
    pub fn new(out: W) -> ZipWriter<W> {
        ZipWriter {
            out,
            offset: 0,
            entries: Vec::new(),
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn flags(name: &str) -> u16 {
        if name.is_ascii() {
            0
        } else {
            UTF8_NAME
        }
    }

    /// Adds one stored entry whose data is `parts` one after another.
    pub fn add(&mut self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let size = u32::try_from(len)
            .ok()
            .filter(|&s| s < u32::MAX)
            .ok_or_else(|| too_large(name))?;
        let offset = u32::try_from(self.offset).map_err(|_| too_large("the archive"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| io::Error::other("name too long"))?;
        let mut crc = crc32fast::Hasher::new();
        for p in parts {
            crc.update(p);
        }
        let crc = crc.finalize();
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        h.extend_from_slice(&Self::flags(name).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&DOS_TIME.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        h.extend_from_slice(name.as_bytes());
        self.put(&h)?;
        for p in parts {
            self.put(p)?;
        }
        self.entries.push(Entry {
            name: name.to_string(),
            crc,
            size,
            offset,
        });
        Ok(())
    }

    /// Writes the central directory and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        let start = u32::try_from(self.offset).map_err(|_| too_large("the archive"))?;
        let count =
            u16::try_from(self.entries.len()).map_err(|_| io::Error::other("too many entries"))?;
        let mut cd = Vec::new();
        for e in &self.entries {
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&20u16.to_le_bytes()); // made by: 2.0
            cd.extend_from_slice(&20u16.to_le_bytes()); // needed: 2.0
            cd.extend_from_slice(&Self::flags(&e.name).to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&DOS_TIME.to_le_bytes());
            cd.extend_from_slice(&DOS_DATE.to_le_bytes());
            cd.extend_from_slice(&e.crc.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            cd.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 12]); // extra, comment, disk, internal and external attributes
            cd.extend_from_slice(&e.offset.to_le_bytes());
            cd.extend_from_slice(e.name.as_bytes());
        }
        let cd_len = u32::try_from(cd.len()).map_err(|_| too_large("the directory"))?;
        cd.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        cd.extend_from_slice(&[0; 4]); // this disk, directory disk
        cd.extend_from_slice(&count.to_le_bytes());
        cd.extend_from_slice(&count.to_le_bytes());
        cd.extend_from_slice(&cd_len.to_le_bytes());
        cd.extend_from_slice(&start.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.put(&cd)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_layout() {
        let mut z = ZipWriter::new(Vec::new());
        z.add("a.npy", &[b"x", b"yz"]).unwrap();
        z.add("g/é.npy", &[]).unwrap();
        let bytes = z.finish().unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(&bytes[30..35], b"a.npy");
        assert_eq!(&bytes[35..38], b"xyz");
        // CRC-32 of "xyz", as `python3 -c 'import zlib; print(hex(zlib.crc32(b"xyz")))'`.
        assert_eq!(&bytes[14..18], &0xeb8e_ba67u32.to_le_bytes());
        let end = &bytes[bytes.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        let cd_start = u32::from_le_bytes([end[16], end[17], end[18], end[19]]) as usize;
        assert_eq!(&bytes[cd_start..cd_start + 4], b"PK\x01\x02");
    }
}
