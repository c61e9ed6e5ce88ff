//! RFC 7512 `pkcs11:` URIs: the subset that names a token, a key object and how to log in.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// How to get the user PIN.
#[derive(Clone, PartialEq, Eq)]
pub enum Pin {
    /// `pin-value=...`: the PIN itself (RFC 7512 §2.4; visible in process lists, prefer a file).
    Value(String),
    /// `pin-source=...`: a file (a path or a `file:` URI) whose first line is the PIN.
    Source(PathBuf),
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pin::Value(_) => f.write_str("Pin::Value(..)"),
            Pin::Source(p) => write!(f, "Pin::Source({})", p.display()),
        }
    }
}

impl Pin {
    /// The PIN: the value, or the first line of the source file.
    ///
    /// # Errors
    /// [`Error::Pin`] when the file cannot be read or is empty.
    pub fn read(&self) -> Result<String> {
        match self {
            Pin::Value(v) => Ok(v.clone()),
            Pin::Source(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::Pin {
                    reason: format!("cannot read pin-source {}: {e}", p.display()),
                })?;
                let line = text.lines().next().unwrap_or_default();
                if line.is_empty() {
                    return Err(Error::Pin {
                        reason: format!("pin-source {} is empty", p.display()),
                    });
                }
                Ok(line.to_owned())
            }
        }
    }
}

/// A parsed `pkcs11:` URI. Only the attributes this crate uses are accepted; any other is an
/// error (a URI that silently matched more than meant would pick the wrong key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `object`: the key's label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the key's CKA_ID (percent-encoded bytes).
    pub id: Option<Vec<u8>>,
    /// `pin-value` or `pin-source`.
    pub pin: Option<Pin>,
    /// `module-path`: the PKCS#11 library to load.
    pub module_path: Option<PathBuf>,
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI: path attributes `token`, `serial`, `manufacturer`, `model`,
    /// `object`, `id`, `type` (`private`, `public` or absent: this crate finds both halves of a
    /// key pair itself); query attributes `pin-value`, `pin-source`, `module-path`. Values are
    /// percent-decoded; names are case-sensitive as in RFC 7512.
    ///
    /// # Errors
    /// [`Error::Uri`] with the byte offset of the first problem: a missing `pkcs11:` scheme, an
    /// unknown or repeated attribute, a malformed percent escape, a value that is not UTF-8
    /// where text is expected, both `pin-value` and `pin-source`.
    pub fn parse(uri: &str) -> Result<Self> {
        let rest = uri.strip_prefix("pkcs11:").ok_or(Error::Uri {
            offset: 0,
            reason: "does not start with `pkcs11:`".into(),
        })?;
        let base = "pkcs11:".len();
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        let mut offset = base;
        if !path.is_empty() {
            for attr in path.split(';') {
                out.path_attr(attr, offset)?;
                offset += attr.len() + 1;
            }
        }
        if let Some(query) = query {
            let mut offset = base + path.len() + 1;
            for attr in query.split('&') {
                out.query_attr(attr, offset)?;
                offset += attr.len() + 1;
            }
        }
        Ok(out)
    }

    fn path_attr(&mut self, attr: &str, offset: usize) -> Result<()> {
        let (name, value) = split_attr(attr, offset)?;
        let voff = offset + name.len() + 1;
        let slot = match name {
            "token" => &mut self.token,
            "serial" => &mut self.serial,
            "manufacturer" => &mut self.manufacturer,
            "model" => &mut self.model,
            "object" => &mut self.object,
            "id" => {
                if self.id.is_some() {
                    return Err(repeated(name, offset));
                }
                self.id = Some(decode(value, voff)?);
                return Ok(());
            }
            "type" => {
                return match value {
                    "private" | "public" => Ok(()),
                    _ => Err(Error::Uri {
                        offset: voff,
                        reason: format!("type={value}: only `private` or `public` name a key"),
                    }),
                };
            }
            _ => return Err(unknown(name, offset)),
        };
        if slot.is_some() {
            return Err(repeated(name, offset));
        }
        *slot = Some(decode_text(value, voff)?);
        Ok(())
    }

    fn query_attr(&mut self, attr: &str, offset: usize) -> Result<()> {
        let (name, value) = split_attr(attr, offset)?;
        let voff = offset + name.len() + 1;
        match name {
            "pin-value" | "pin-source" => {
                if self.pin.is_some() {
                    return Err(Error::Uri {
                        offset,
                        reason: "more than one of pin-value and pin-source".into(),
                    });
                }
                let v = decode_text(value, voff)?;
                self.pin = Some(if name == "pin-value" {
                    Pin::Value(v)
                } else {
                    let path = v.strip_prefix("file://").or(v.strip_prefix("file:"));
                    Pin::Source(PathBuf::from(path.unwrap_or(&v)))
                });
            }
            "module-path" => {
                if self.module_path.is_some() {
                    return Err(repeated(name, offset));
                }
                self.module_path = Some(PathBuf::from(decode_text(value, voff)?));
            }
            _ => return Err(unknown(name, offset)),
        }
        Ok(())
    }
}

fn split_attr(attr: &str, offset: usize) -> Result<(&str, &str)> {
    match attr.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => Err(Error::Uri {
            offset,
            reason: format!("`{attr}` is not name=value"),
        }),
    }
}

fn unknown(name: &str, offset: usize) -> Error {
    Error::Uri {
        offset,
        reason: format!("attribute `{name}` is not supported"),
    }
}

fn repeated(name: &str, offset: usize) -> Error {
    Error::Uri {
        offset,
        reason: format!("attribute `{name}` given twice"),
    }
}

/// Percent-decoding (RFC 3986 §2.1): `%` must be followed by two hex digits.
fn decode(value: &str, offset: usize) -> Result<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(Error::Uri {
                    offset: offset + i,
                    reason: "`%` not followed by two hex digits".into(),
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(value: &str, offset: usize) -> Result<String> {
    String::from_utf8(decode(value, offset)?).map_err(|_| Error::Uri {
        offset,
        reason: "the decoded value is not UTF-8".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_uri_parses() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=ota%20release;object=release-1;id=%01%a0;type=private\
             ?pin-source=file:/run/pin&module-path=/usr/lib/softhsm/libsofthsm2.so",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("ota release"));
        assert_eq!(u.object.as_deref(), Some("release-1"));
        assert_eq!(u.id.as_deref(), Some(&[0x01, 0xa0][..]));
        assert_eq!(u.pin, Some(Pin::Source("/run/pin".into())));
        assert_eq!(
            u.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        let v = Pkcs11Uri::parse("pkcs11:token=t?pin-value=1234").unwrap();
        assert_eq!(v.pin, Some(Pin::Value("1234".into())));
        assert_eq!(Pkcs11Uri::parse("pkcs11:").unwrap(), Pkcs11Uri::default());
        // The PIN does not leak through Debug.
        assert!(!format!("{v:?}").contains("1234"));
    }

    #[test]
    fn malformed_uris_are_refused_with_the_offset() {
        for (uri, offset, what) in [
            ("pkcs:token=a", 0, "does not start"),
            ("pkcs11:token=a;token=b", 15, "given twice"),
            ("pkcs11:token=a;slot-id=1", 15, "`slot-id` is not supported"),
            ("pkcs11:object=a%4", 15, "two hex digits"),
            ("pkcs11:object=a%zz", 15, "two hex digits"),
            ("pkcs11:object", 7, "not name=value"),
            ("pkcs11:=x", 7, "not name=value"),
            ("pkcs11:type=secret-key", 12, "only `private` or `public`"),
            ("pkcs11:object=%ff", 14, "not UTF-8"),
            (
                "pkcs11:token=a?pin-value=1&pin-source=/p",
                27,
                "more than one",
            ),
            (
                "pkcs11:token=a?module-name=softhsm2",
                15,
                "`module-name` is not",
            ),
            ("pkcs11:id=%01;id=%02", 14, "given twice"),
        ] {
            match Pkcs11Uri::parse(uri) {
                Err(Error::Uri { offset: o, reason }) => {
                    assert_eq!(o, offset, "{uri}: {reason}");
                    assert!(reason.contains(what), "{uri}: {reason}");
                }
                other => panic!("{uri}: {other:?}"),
            }
        }
    }

    #[test]
    fn pin_source_reads_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pin");
        std::fs::write(&p, "4321\n").unwrap();
        assert_eq!(Pin::Source(p.clone()).read().unwrap(), "4321");
        std::fs::write(&p, "").unwrap();
        assert!(matches!(Pin::Source(p).read(), Err(Error::Pin { .. })));
        assert!(matches!(
            Pin::Source(dir.path().join("missing")).read(),
            Err(Error::Pin { .. })
        ));
    }
}
