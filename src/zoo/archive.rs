//! Unpacking a downloaded archive (tar, tar.gz, zip) or plain file into a fresh directory,
//! refusing anything that could write outside it or fill the disk: absolute paths, `..`,
//! links that leave the directory or are passed through, device files, members or totals above
//! the limits. The caller unpacks into a temporary directory and removes it on any error, so a
//! refused archive leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// How much an archive may unpack to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of one member.
    pub member: u64,
    /// Bytes of all members together.
    pub total: u64,
    /// Number of members.
    pub members: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { member: 8 << 30, total: 16 << 30, members: 100_000 }
    }
}

/// What a download is, by its first bytes (not its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    TarGz,
    Tar,
    Zip,
    Plain,
}

impl Kind {
    pub fn sniff(head: &[u8]) -> Kind {
        if head.starts_with(&[0x1f, 0x8b]) {
            Kind::TarGz
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Kind::Zip
        } else if head.get(257..262) == Some(b"ustar") {
            Kind::Tar
        } else {
            Kind::Plain
        }
    }
}

/// One file written: its path inside the directory, its size and SHA-256 (hashed as written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpacked {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Unpack the file at `archive` into the existing empty directory `dest`; a plain file is
/// written as `plain_name`.
pub fn unpack_file(archive: &Path, dest: &Path, plain_name: &str, limits: Limits) -> Result<Vec<Unpacked>> {
    let mut f = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let mut head = [0u8; 512];
    let n = read_up_to(&mut f, &mut head).map_err(|e| Error::io(archive, e))?;
    f.rewind().map_err(|e| Error::io(archive, e))?;
    let bad = |msg: String| Error::bad_file(archive, msg);
    unpack(Kind::sniff(&head[..n]), f, dest, plain_name, limits).map_err(bad)
}

/// Unpack `reader`, an archive of `kind`, into `dest`.
pub fn unpack<R: Read + Seek>(
    kind: Kind,
    reader: R,
    dest: &Path,
    plain_name: &str,
    limits: Limits,
) -> std::result::Result<Vec<Unpacked>, String> {
    let mut w = Writer { dest, limits, written: Vec::new(), total: 0 };
    match kind {
        Kind::TarGz => {
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
            w.tar(&mut archive)?;
            // tar stops at its end marker; reading gzip's trailer checks its CRC.
            std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(|e| format!("gzip: {e}"))?;
        }
        Kind::Tar => w.tar(&mut tar::Archive::new(reader))?,
        Kind::Zip => w.zip(reader)?,
        Kind::Plain => {
            safe_path(plain_name)?;
            w.file(plain_name, reader)?;
        }
    }
    Ok(w.written)
}

/// Copy the directory `src` into the existing empty directory `dest` as `top/…`, with the
/// checks and limits of an archive's members (a link is kept only when it stays inside).
pub fn copy_dir(src: &Path, dest: &Path, top: &str, limits: Limits) -> Result<Vec<Unpacked>> {
    let mut w = Writer { dest, limits, written: Vec::new(), total: 0 };
    w.dir(top).map_err(|m| Error::bad_file(src, m))?;
    let mut stack = vec![(src.to_path_buf(), top.to_string())];
    let mut count = 0;
    while let Some((dir, name)) = stack.pop() {
        let mut items: Vec<_> = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?.flatten().collect();
        items.sort_by_key(|d| d.file_name());
        for d in items {
            count += 1;
            w.count(count).map_err(|m| Error::bad_file(src, m))?;
            let member = format!("{name}/{}", d.file_name().to_str().ok_or_else(|| Error::bad_file(d.path(), "a name is not UTF-8"))?);
            let kind = d.file_type().map_err(|e| Error::io(d.path(), e))?;
            let done = if kind.is_dir() {
                stack.push((d.path(), member.clone()));
                w.dir(&member)
            } else if kind.is_symlink() {
                let target = std::fs::read_link(d.path()).map_err(|e| Error::io(d.path(), e))?;
                w.symlink(&member, &target.to_string_lossy())
            } else if kind.is_file() {
                w.file(&member, File::open(d.path()).map_err(|e| Error::io(d.path(), e))?)
            } else {
                Err(format!("{member}: device files and pipes are refused"))
            };
            done.map_err(|m| Error::bad_file(src, m))?;
        }
    }
    Ok(w.written)
}

struct Writer<'a> {
    dest: &'a Path,
    limits: Limits,
    written: Vec<Unpacked>,
    total: u64,
}

impl Writer<'_> {
    fn tar<R: Read>(&mut self, archive: &mut tar::Archive<R>) -> std::result::Result<(), String> {
        let err = |e: std::io::Error| format!("not a readable tar archive: {e}");
        for (i, entry) in archive.entries().map_err(err)?.enumerate() {
            self.count(i)?;
            let mut entry = entry.map_err(err)?;
            let path = entry.path().map_err(err)?;
            let name = path.to_str().ok_or("a member name is not UTF-8")?.to_string();
            let link = || entry.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned()).unwrap_or_default();
            use tar::EntryType as T;
            match entry.header().entry_type() {
                T::Directory => self.dir(&name)?,
                T::Regular | T::Continuous => self.file(&name, &mut entry)?,
                T::Symlink => self.symlink(&name, &link())?,
                T::Link => self.hardlink(&name, &link())?,
                T::Char | T::Block | T::Fifo => return Err(format!("{name}: device files and pipes are refused")),
                T::XGlobalHeader => {}
                other => return Err(format!("{name}: member type {other:?} is not supported")),
            }
        }
        Ok(())
    }

    fn zip<R: Read + Seek>(&mut self, reader: R) -> std::result::Result<(), String> {
        let err = |e: zip::result::ZipError| format!("not a readable zip archive: {e}");
        let mut archive = zip::ZipArchive::new(reader).map_err(err)?;
        for i in 0..archive.len() {
            self.count(i)?;
            let mut member = archive.by_index(i).map_err(err)?;
            let name = member.name().to_string();
            if member.is_dir() {
                self.dir(&name)?;
            } else if member.is_symlink() {
                let mut target = String::new();
                member.by_ref().take(4096).read_to_string(&mut target).map_err(|e| format!("{name}: {e}"))?;
                self.symlink(&name, &target)?;
            } else {
                self.file(&name, &mut member)?;
            }
        }
        Ok(())
    }

    fn count(&self, index: usize) -> std::result::Result<(), String> {
        if index >= self.limits.members {
            return Err(format!("more than {} members", self.limits.members));
        }
        Ok(())
    }

    /// The place of member `name` in `dest`, with its parent directories made; refused when a
    /// parent is a link (writing through it could leave `dest`).
    fn place(&self, name: &str) -> std::result::Result<PathBuf, String> {
        let rel = safe_path(name)?;
        let mut at = self.dest.to_path_buf();
        let parts: Vec<_> = rel.components().collect();
        for c in &parts[..parts.len().saturating_sub(1)] {
            at.push(c);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => return Err(format!("{name}: a member below a link is refused")),
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(format!("{name}: its parent is a file")),
                Err(_) => std::fs::create_dir(&at).map_err(|e| format!("{name}: {e}"))?,
            }
        }
        Ok(self.dest.join(rel))
    }

    fn dir(&mut self, name: &str) -> std::result::Result<(), String> {
        if safe_path(name)?.as_os_str().is_empty() {
            return Ok(());
        }
        let at = self.place(name)?;
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(format!("{name}: a directory over another member")),
            Err(_) => std::fs::create_dir(&at).map_err(|e| format!("{name}: {e}")),
        }
    }

    fn file(&mut self, name: &str, reader: impl Read) -> std::result::Result<(), String> {
        let at = self.place(name)?;
        // A member of the same name replaces the earlier one; removing first means a link
        // there is replaced, not written through.
        if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            let _ = std::fs::remove_file(&at);
        }
        let f = OpenOptions::new().write(true).create_new(true).open(&at).map_err(|e| format!("{name}: {e}"))?;
        let room = self.limits.member.min(self.limits.total - self.total);
        let mut hashed = Hashing { out: f, hash: <sha2::Sha256 as sha2::Digest>::new() };
        let n = std::io::copy(&mut reader.take(room + 1), &mut hashed).map_err(|e| format!("{name}: {e}"))?;
        if n > room {
            let which = if room == self.limits.member { "one member" } else { "all members" };
            return Err(format!("{name}: unpacks to more than {} bytes, the limit for {which}", room));
        }
        self.total += n;
        self.written.retain(|w| w.path != name);
        let sha256 = sha2::Digest::finalize(hashed.hash).iter().map(|b| format!("{b:02x}")).collect();
        self.written.push(Unpacked { path: name.trim_start_matches("./").to_string(), bytes: n, sha256 });
        Ok(())
    }

    /// A relative link that stays inside `dest`, judged by its text.
    fn symlink(&mut self, name: &str, target: &str) -> std::result::Result<(), String> {
        let rel = safe_path(name)?;
        let base = rel.parent().unwrap_or(Path::new(""));
        if target.is_empty() || Path::new(target).is_absolute() || escapes(&base.join(target)) {
            return Err(format!("{name}: a link to {target:?}, outside the archive"));
        }
        let at = self.place(name)?;
        if std::fs::symlink_metadata(&at).is_ok() {
            return Err(format!("{name}: a link over another member"));
        }
        std::os::unix::fs::symlink(target, &at).map_err(|e| format!("{name}: {e}"))
    }

    /// A hard link becomes a copy of a file unpacked before it.
    fn hardlink(&mut self, name: &str, target: &str) -> std::result::Result<(), String> {
        safe_path(target).map_err(|_| format!("{name}: a hard link to {target:?}, outside the archive"))?;
        let from = self.dest.join(safe_path(target)?);
        let meta = std::fs::symlink_metadata(&from).map_err(|_| format!("{name}: a hard link to {target:?}, not unpacked before it"))?;
        if !meta.is_file() {
            return Err(format!("{name}: a hard link to {target:?}, which is not a file"));
        }
        let src = File::open(&from).map_err(|e| format!("{name}: {e}"))?;
        self.file(name, src)
    }
}

/// A file that hashes what is written to it.
struct Hashing {
    out: File,
    hash: sha2::Sha256,
}

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        sha2::Digest::update(&mut self.hash, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// `name` as a relative path without `..` or a root (a leading `./` is fine).
fn safe_path(name: &str) -> std::result::Result<PathBuf, String> {
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("{name}: a path with .. is refused")),
            Component::RootDir | Component::Prefix(_) => return Err(format!("{name}: an absolute path is refused")),
        }
    }
    if name.contains('\0') {
        return Err("a member name holds a NUL".into());
    }
    Ok(out)
}

/// Whether a relative path climbs above its start (by its text).
fn escapes(p: &Path) -> bool {
    let mut depth = 0i64;
    for c in p.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth -= 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h
    }

    /// A raw member name, bypassing the builder's own checks (as a hostile archive would).
    fn raw(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, link: &str, data: &[u8]) {
        let mut h = header(kind, data.len() as u64);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    fn unpack_tar(bytes: Vec<u8>, limits: Limits) -> (tempfile::TempDir, std::result::Result<Vec<Unpacked>, String>) {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("d");
        std::fs::create_dir(&dest).unwrap();
        let r = unpack(Kind::sniff(&bytes), Cursor::new(bytes), &dest, "x", limits);
        (root, r)
    }

    #[test]
    fn a_plain_tar_unpacks_with_links_inside() {
        use tar::EntryType as T;
        let bytes = tar_with(|b| {
            raw(b, T::Directory, "m/", "", b"");
            raw(b, T::Regular, "m/a.txt", "", b"hello");
            raw(b, T::Symlink, "m/l", "a.txt", b"");
            raw(b, T::Link, "m/h", "m/a.txt", b"");
        });
        let (root, r) = unpack_tar(bytes, Limits::default());
        let got = r.unwrap();
        assert_eq!(got.iter().map(|u| u.path.as_str()).collect::<Vec<_>>(), ["m/a.txt", "m/h"]);
        assert_eq!(std::fs::read(root.path().join("d/m/l")).unwrap(), b"hello");
    }

    #[test]
    fn escapes_are_refused() {
        use tar::EntryType as T;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (tar_with(|b| raw(b, T::Regular, "../evil", "", b"x")), ".."),
            (tar_with(|b| raw(b, T::Regular, "/tmp/evil", "", b"x")), "absolute"),
            (tar_with(|b| raw(b, T::Symlink, "l", "../..", b"")), "outside the archive"),
            (tar_with(|b| raw(b, T::Symlink, "l", "/etc", b"")), "outside the archive"),
            (
                tar_with(|b| {
                    raw(b, T::Symlink, "l", ".", b"");
                    raw(b, T::Regular, "l/x", "", b"x");
                }),
                "below a link",
            ),
            (tar_with(|b| raw(b, T::Char, "dev", "", b"")), "device"),
            (tar_with(|b| raw(b, T::Link, "h", "/etc/passwd", b"")), "outside the archive"),
        ];
        for (bytes, want) in cases {
            let (root, r) = unpack_tar(bytes, Limits::default());
            let err = r.unwrap_err();
            assert!(err.contains(want), "{err:?} should say {want:?}");
            assert!(!root.path().join("evil").exists());
        }
    }

    #[test]
    fn limits_count_what_is_written() {
        use tar::EntryType as T;
        let bytes = tar_with(|b| {
            raw(b, T::Regular, "a", "", &[0; 600]);
            raw(b, T::Regular, "b", "", &[0; 600]);
        });
        let (_r, one) = unpack_tar(bytes.clone(), Limits { member: 500, ..Limits::default() });
        assert!(one.unwrap_err().contains("limit for one member"));
        let (_r, all) = unpack_tar(bytes.clone(), Limits { total: 1000, ..Limits::default() });
        assert!(all.unwrap_err().contains("limit for all members"));
        let (_r, count) = unpack_tar(bytes, Limits { members: 1, ..Limits::default() });
        assert!(count.unwrap_err().contains("more than 1 members"));
    }

    #[test]
    fn zip_and_plain_files() {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        z.add_directory("w/", opts).unwrap();
        z.start_file("w/m.pb", opts).unwrap();
        std::io::Write::write_all(&mut z, b"graph").unwrap();
        z.start_file("../up", opts).unwrap();
        let bytes = z.finish().unwrap().into_inner();
        let (_r, r) = unpack_tar(bytes, Limits::default());
        assert!(r.unwrap_err().contains("a path with .. is refused"));
        let (root, r) = unpack_tar(b"just bytes".to_vec(), Limits::default());
        let got: Vec<(String, u64)> = r.unwrap().into_iter().map(|u| (u.path, u.bytes)).collect();
        assert_eq!(got, [("x".to_string(), 10)]);
        assert_eq!(std::fs::read(root.path().join("d/x")).unwrap(), b"just bytes");
    }
}
