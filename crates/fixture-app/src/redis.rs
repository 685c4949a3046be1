//! `REDIS_URL`: keys kept in Redis (a hash, `fixture:cache`), over a hand-written RESP client
//! on a `TcpStream`: one connection per request, like the PostgreSQL rows.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const HASH: &str = "fixture:cache";
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where Redis is: `redis://[:password@]host[:port][/db]`, the password also from
/// `REDIS_PASSWORD_FILE`.
#[derive(Debug, PartialEq, Eq)]
pub struct Redis {
    host: String,
    port: u16,
    password: Option<String>,
    db: Option<u32>,
    /// The URL without a password, for messages.
    pub shown: String,
}

/// A RESP reply.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// One request on the keys.
pub enum KeyOp {
    List,
    Get(String),
    Put(String, Vec<u8>),
    Delete(String),
}

impl Redis {
    pub fn from_env(url: &str, password_file: Option<String>) -> Result<Redis, String> {
        let bad =
            |why: &str| format!("REDIS_URL {url:?} is not a redis://host[:port][/db] URL: {why}");
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| bad("no redis:// scheme"))?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (hostport, db) = match rest.split_once('/') {
            Some((h, "")) => (h, None),
            Some((h, d)) => (
                h,
                Some(
                    d.parse::<u32>()
                        .map_err(|_| bad("the database is not a number"))?,
                ),
            ),
            None => (rest, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            None => (hostport, 6379),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut password = auth.map(|a| a.rsplit(':').next().unwrap_or(a).to_string());
        if let Some(file) = password_file {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("REDIS_PASSWORD_FILE {file}: {e}"))?;
            password = Some(text.trim_end_matches(['\n', '\r']).to_string());
        }
        Ok(Redis {
            host: host.to_string(),
            port,
            password,
            db,
            shown: match auth {
                Some(_) => format!("redis://***@{rest}"),
                None => url.to_string(),
            },
        })
    }

    /// One PING: an app that cannot reach its cache at start says so and exits.
    pub fn init(&self) -> Result<(), String> {
        match self.command(&[b"PING"])? {
            Reply::Status(s) if s == "PONG" => Ok(()),
            other => Err(format!("PING answered {other:?}")),
        }
    }

    /// Runs one key operation: `(HTTP status, body)`.
    pub fn keys(&self, op: KeyOp) -> Result<(u16, Vec<u8>), String> {
        Ok(match op {
            KeyOp::List => match self.command(&[b"HGETALL", HASH.as_bytes()])? {
                Reply::Array(Some(items)) => {
                    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = items
                        .chunks(2)
                        .filter_map(|kv| match kv {
                            [Reply::Bulk(Some(k)), Reply::Bulk(Some(v))] => {
                                Some((k.clone(), v.clone()))
                            }
                            _ => None,
                        })
                        .collect();
                    pairs.sort();
                    let mut body = Vec::new();
                    for (k, v) in pairs {
                        body.extend_from_slice(&k);
                        body.push(b'=');
                        body.extend_from_slice(&v);
                        body.push(b'\n');
                    }
                    (200, body)
                }
                other => return Err(format!("HGETALL answered {other:?}")),
            },
            KeyOp::Get(key) => match self.command(&[b"HGET", HASH.as_bytes(), key.as_bytes()])? {
                Reply::Bulk(Some(v)) => (200, v),
                Reply::Bulk(None) => (404, b"no such key\n".to_vec()),
                other => return Err(format!("HGET answered {other:?}")),
            },
            KeyOp::Put(key, value) => {
                match self.command(&[b"HSET", HASH.as_bytes(), key.as_bytes(), &value])? {
                    Reply::Int(_) => (200, b"stored\n".to_vec()),
                    other => return Err(format!("HSET answered {other:?}")),
                }
            }
            KeyOp::Delete(key) => {
                match self.command(&[b"HDEL", HASH.as_bytes(), key.as_bytes()])? {
                    Reply::Int(0) => (404, b"no such key\n".to_vec()),
                    Reply::Int(_) => (200, b"deleted\n".to_vec()),
                    other => return Err(format!("HDEL answered {other:?}")),
                }
            }
        })
    }

    /// Connects (AUTH and SELECT as the URL says), sends one command, reads its reply.
    fn command(&self, args: &[&[u8]]) -> Result<Reply, String> {
        let fail = |e: std::io::Error| format!("redis at {}:{}: {e}", self.host, self.port);
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(fail)?
            .next()
            .ok_or_else(|| format!("redis at {}: the name resolved to no address", self.host))?;
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(fail)?;
        stream.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
        stream.set_write_timeout(Some(TIMEOUT)).map_err(fail)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(fail)?);
        let mut writer = stream;
        let mut send = |args: &[&[u8]]| -> Result<Reply, String> {
            writer.write_all(&encode(args)).map_err(fail)?;
            read_reply(&mut reader).map_err(fail)
        };
        if let Some(pw) = &self.password {
            if let Reply::Error(e) = send(&[b"AUTH", pw.as_bytes()])? {
                return Err(format!("redis refused the password: {e}"));
            }
        }
        if let Some(db) = self.db {
            if let Reply::Error(e) = send(&[b"SELECT", db.to_string().as_bytes()])? {
                return Err(format!("redis: SELECT {db}: {e}"));
            }
        }
        match send(args)? {
            Reply::Error(e) => Err(format!("redis: {e}")),
            reply => Ok(reply),
        }
    }
}

/// A command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub fn read_reply(r: &mut impl BufRead) -> std::io::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed",
        ));
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad reply {line:?}"),
        )
    };
    let (kind, rest) = line.split_at(line.len().min(1));
    let number = || rest.parse::<i64>().map_err(|_| bad());
    Ok(match kind {
        "+" => Reply::Status(rest.to_string()),
        "-" => Reply::Error(rest.to_string()),
        ":" => Reply::Int(number()?),
        "$" => match number()? {
            n if n < 0 => Reply::Bulk(None),
            n => {
                let mut data = vec![0u8; n as usize + 2];
                r.read_exact(&mut data)?;
                data.truncate(n as usize);
                Reply::Bulk(Some(data))
            }
        },
        "*" => match number()? {
            n if n < 0 => Reply::Array(None),
            n => {
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(read_reply(r)?);
                }
                Reply::Array(Some(items))
            }
        },
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let r = Redis::from_env("redis://cache:6380/2", None).unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.db, r.password.as_deref()),
            ("cache", 6380, Some(2), None)
        );
        let r = Redis::from_env("redis://:pw@cache", None).unwrap();
        assert_eq!((r.port, r.password.as_deref()), (6379, Some("pw")));
        assert_eq!(r.shown, "redis://***@cache");
        assert!(Redis::from_env("http://cache", None).is_err());
        assert!(Redis::from_env("redis://cache:port", None).is_err());
    }

    #[test]
    fn resp_round_trip() {
        assert_eq!(encode(&[b"GET", b"k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        let mut input: &[u8] = b"*3\r\n$1\r\na\r\n$-1\r\n:7\r\n+OK\r\n-ERR no\r\n";
        assert_eq!(
            read_reply(&mut input).unwrap(),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"a".to_vec())),
                Reply::Bulk(None),
                Reply::Int(7)
            ]))
        );
        assert_eq!(read_reply(&mut input).unwrap(), Reply::Status("OK".into()));
        assert_eq!(
            read_reply(&mut input).unwrap(),
            Reply::Error("ERR no".into())
        );
        assert!(read_reply(&mut input).is_err());
    }
}
