//! A volume's tar archive on disk, compressed and hashed as it is written: gzip for the
//! backup_restore rung's backups (suite hooks read them with `tar -tzf`), zstd for the warm
//! canonical's snapshots (several times faster at the same ratio). Which one an archive is
//! comes from its name, so snapshots taken as `tar.gz` before the switch still restore.

use crate::beneath::Root;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::path::Path;

/// An archive decompressed on a worker thread into a pipe the caller reads: the unpack on
/// the caller's thread and the decompression (and hashing) on the worker run side by side,
/// as `zstd -dc | tar -x` does. [`Decoding::finish`] tells the archive's sha256 and how the
/// decompression ended.
pub struct Decoding {
    reader: io::BufReader<io::PipeReader>,
    worker: std::thread::JoinHandle<io::Result<Decoded>>,
}

/// The buffer on each end of the decompression pipe.
const PIPE_CHUNK: usize = 1 << 20;

/// What the worker saw of the archive.
pub struct Decoded {
    /// The hex sha256 of the whole archive file, read to its end even when the stream
    /// stopped early: a corrupt archive is told by its hash.
    pub sha256: String,
    /// How the decompression ended (an error also when the reader stopped first).
    pub stream: io::Result<()>,
}

impl Decoding {
    pub fn start(file: std::fs::File, codec: Codec) -> io::Result<Decoding> {
        let (reader, writer) = io::pipe()?;
        let worker = std::thread::spawn(move || {
            let mut hashing = HashingReader::new(file);
            // Large writes and reads: tar reads in 512-byte blocks, a syscall each unbuffered.
            let mut writer = io::BufWriter::with_capacity(PIPE_CHUNK, writer);
            let stream = decoder(&mut hashing, codec)
                .and_then(|mut decoded| io::copy(&mut decoded, &mut writer))
                .and_then(|_| writer.flush());
            drop(writer);
            Ok(Decoded {
                sha256: hashing.finish()?,
                stream,
            })
        });
        Ok(Decoding {
            reader: io::BufReader::with_capacity(PIPE_CHUNK, reader),
            worker,
        })
    }

    /// Stops reading (the worker's writes then fail) and waits for the worker.
    pub fn finish(self) -> io::Result<Decoded> {
        drop(self.reader);
        self.worker
            .join()
            .map_err(|_| io::Error::other("the decompressing thread panicked"))?
    }
}

impl Read for Decoding {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// How an archive is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// gzip at its fastest level (`.tar.gz`).
    Gzip,
    /// zstd level 1, compressing in a worker thread while files are read (`.tar.zst`).
    Zstd,
}

impl Codec {
    /// The archive's file name for `volume`.
    pub fn archive_name(self, volume: &str) -> String {
        match self {
            Codec::Gzip => format!("{volume}.tar.gz"),
            Codec::Zstd => format!("{volume}.tar.zst"),
        }
    }

    /// The codec of an archive, by its name (`None`: not an archive cc-ci writes).
    pub fn of_archive(name: &str) -> Option<Codec> {
        if name.ends_with(".tar.gz") {
            Some(Codec::Gzip)
        } else if name.ends_with(".tar.zst") {
            Some(Codec::Zstd)
        } else {
            None
        }
    }
}

/// A file being written, with the sha256 and length of what reached it.
pub struct Hashed {
    file: std::fs::File,
    sha256: Sha256,
    bytes: u64,
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// What an archive came to on disk.
pub struct Written {
    pub sha256: String,
    pub bytes: u64,
}

/// The compressing writer under a `tar::Builder`; [`Encoder::finish`] ends the stream.
pub enum Encoder {
    Gzip(GzEncoder<Hashed>),
    Zstd(zstd::Encoder<'static, Hashed>),
}

impl Encoder {
    /// Creates (truncates) the archive at `path`.
    pub fn create(path: &Path, codec: Codec) -> io::Result<Encoder> {
        let hashed = Hashed {
            file: std::fs::File::create(path)?,
            sha256: Sha256::new(),
            bytes: 0,
        };
        Ok(match codec {
            Codec::Gzip => Encoder::Gzip(GzEncoder::new(hashed, flate2::Compression::fast())),
            Codec::Zstd => {
                let mut zstd = zstd::Encoder::new(hashed, 1)?;
                zstd.multithread(1)?;
                Encoder::Zstd(zstd)
            }
        })
    }

    /// Ends the compressed stream, syncs nothing (a snapshot is checked by its hash on
    /// restore), and returns the archive's hash and length.
    pub fn finish(self) -> io::Result<Written> {
        let mut hashed = match self {
            Encoder::Gzip(gz) => gz.finish()?,
            Encoder::Zstd(zstd) => zstd.finish()?,
        };
        hashed.flush()?;
        Ok(Written {
            sha256: hex::encode(hashed.sha256.finalize()),
            bytes: hashed.bytes,
        })
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(gz) => gz.write(buf),
            Encoder::Zstd(zstd) => zstd.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(gz) => gz.flush(),
            Encoder::Zstd(zstd) => zstd.flush(),
        }
    }
}

/// Appends everything in `dir` to `tar` under `name` (`""` = the archive's top), in name
/// order, never following a link: see [`append_entry`].
pub fn append_tree<W: Write>(tar: &mut tar::Builder<W>, dir: &Root, name: &Path) -> io::Result<()> {
    for (entry, _) in dir.entries().map_err(io::Error::other)? {
        append_entry(tar, dir, Path::new(&entry), &name.join(&entry))?;
    }
    Ok(())
}

/// Appends `path` (below `root`, which follows no link) to `tar` as `name`, with its mode,
/// owner and mtime: a directory with everything in it, a file's bytes (as long as it was
/// when opened), a link as the link (its target is never opened), a FIFO or device node as
/// itself; a socket is left out. Each is opened relative to the directory already held, so
/// a link swapped in meanwhile fails the capture instead of being followed.
pub fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Root,
    path: &Path,
    name: &Path,
) -> io::Result<()> {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let meta = root.metadata(path).map_err(io::Error::other)?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    header.set_size(0);
    let kind = meta.file_type();
    if kind.is_dir() {
        tar.append_data(&mut header, name, io::empty())?;
        append_tree(tar, &root.dir(path).map_err(io::Error::other)?, name)
    } else if kind.is_file() {
        let file = root.open_file(path).map_err(io::Error::other)?;
        let meta = file.metadata()?;
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        let len = meta.len();
        // Exactly `len` bytes, whether the file grew or shrank since.
        let data = (&file).take(len).chain(io::repeat(0)).take(len);
        tar.append_data(&mut header, name, data)
    } else if kind.is_symlink() {
        let target = root.read_link(path).map_err(io::Error::other)?;
        tar.append_link(&mut header, name, target)
    } else if kind.is_socket() {
        Ok(())
    } else {
        let rdev = meta.rdev();
        header.set_device_major(rustix::fs::major(rdev))?;
        header.set_device_minor(rustix::fs::minor(rdev))?;
        tar.append_data(&mut header, name, io::empty())
    }
}

/// A reader that hashes everything read through it.
pub struct HashingReader<R> {
    inner: R,
    sha256: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            sha256: Sha256::new(),
        }
    }

    /// Reads what is left and returns the hex sha256 of the whole stream.
    pub fn finish(mut self) -> io::Result<String> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(hex::encode(self.sha256.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }
}

/// The tar stream inside a compressed archive read from `source`.
pub fn decoder<'a, R: Read + 'a>(source: R, codec: Codec) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Codec::Gzip => Box::new(flate2::read::GzDecoder::new(source)),
        Codec::Zstd => Box::new(zstd::Decoder::new(source)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_names_its_codec() {
        for (name, codec) in [
            ("data.tar.gz", Some(Codec::Gzip)),
            ("data.tar.zst", Some(Codec::Zstd)),
            ("data.tar", None),
            ("data.zip", None),
        ] {
            assert_eq!(Codec::of_archive(name), codec, "{name}");
        }
        for codec in [Codec::Gzip, Codec::Zstd] {
            assert_eq!(Codec::of_archive(&codec.archive_name("v")), Some(codec));
        }
    }

    #[test]
    fn each_codec_round_trips_and_hashes_what_is_on_disk() {
        let dir = std::env::temp_dir().join(format!("ccci-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for codec in [Codec::Gzip, Codec::Zstd] {
            let path = dir.join(codec.archive_name("v"));
            let mut encoder = Encoder::create(&path, codec).unwrap();
            encoder.write_all(&b"some data ".repeat(1000)).unwrap();
            let written = encoder.finish().unwrap();
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(written.bytes, on_disk.len() as u64, "{codec:?}");
            assert_eq!(written.sha256, hex::encode(Sha256::digest(&on_disk)));
            let mut back = Vec::new();
            decoder(&on_disk[..], codec)
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, b"some data ".repeat(1000), "{codec:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
