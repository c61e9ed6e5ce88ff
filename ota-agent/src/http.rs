//! [`HttpFetch`]: byte ranges over HTTP/1.1 with ureq.

use std::io::{self, Read};
use std::time::Duration;

use crate::fetch::{Fetch, FetchError, FileFetch, Resource};

/// Fetches `BASE/<hex digest>` with `Range` requests (the same layout [`FileFetch`] reads from
/// a directory). A server that ignores `Range` (200) is read from the start and the bytes before
/// the offset skipped; a body cut short returns what arrived, and the agent asks again from
/// there; a range past the end (416) is the end of the resource. What the bytes are worth is
/// decided by the agent's digests, not by the server's headers.
#[derive(Debug)]
pub struct HttpFetch {
    base: String,
    agent: ureq::Agent,
}

impl HttpFetch {
    /// Fetches from `base` (e.g. `http://cdn.example/objects`), with `timeout` for connecting and
    /// for each read.
    #[must_use]
    pub fn new(base: impl Into<String>, timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout_read(timeout)
            .redirects(0)
            .build();
        HttpFetch {
            base: base.into().trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// The URL of a resource.
    #[must_use]
    pub fn url(&self, what: &Resource<'_>) -> String {
        format!("{}/{}", self.base, FileFetch::name(what.digest()))
    }
}

/// `bytes START-END/TOTAL` → START.
fn range_start(content_range: &str) -> Option<u64> {
    let rest = content_range.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

impl Fetch for HttpFetch {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let url = self.url(what);
        let last = offset.saturating_add(buf.len() as u64 - 1);
        let resp = match self
            .agent
            .get(&url)
            .set("Range", &format!("bytes={offset}-{last}"))
            .call()
        {
            Ok(r) => r,
            Err(ureq::Error::Status(416, _)) => return Ok(0),
            Err(ureq::Error::Status(404 | 410, _)) => return Err(FetchError::NotFound(url)),
            Err(ureq::Error::Status(code, _)) => {
                return Err(FetchError::ConnectionLost(format!("{url}: HTTP {code}")));
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(match t.kind() {
                    ureq::ErrorKind::UnknownScheme | ureq::ErrorKind::InsecureRequestHttpsOnly => {
                        FetchError::UnsupportedProtocol(t.to_string())
                    }
                    ureq::ErrorKind::InvalidUrl => FetchError::NotFound(t.to_string()),
                    _ => FetchError::ConnectionLost(t.to_string()),
                });
            }
        };
        let skip = match resp.status() {
            206 => {
                let start = resp.header("Content-Range").and_then(range_start);
                if start != Some(offset) {
                    return Err(FetchError::ConnectionLost(format!(
                        "{url}: asked for byte {offset}, the server answered {:?}",
                        resp.header("Content-Range")
                    )));
                }
                0
            }
            200 => offset,
            other => {
                return Err(FetchError::ConnectionLost(format!(
                    "{url}: unexpected HTTP {other}"
                )));
            }
        };
        let mut body = resp.into_reader();
        if skip > 0 {
            let skipped = io::copy(&mut (&mut body).take(skip), &mut io::sink())
                .map_err(|e| FetchError::ConnectionLost(e.to_string()))?;
            if skipped < skip {
                return Ok(0);
            }
        }
        let mut n = 0;
        while n < buf.len() {
            match body.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Cut short: keep what arrived; the next call continues from there.
                Err(_) if n > 0 => break,
                Err(e) => return Err(FetchError::ConnectionLost(e.to_string())),
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::range_start;

    #[test]
    fn content_range() {
        assert_eq!(range_start("bytes 100-199/1000"), Some(100));
        assert_eq!(range_start("bytes 0-0/*"), Some(0));
        assert_eq!(range_start("items 1-2/3"), None);
        assert_eq!(range_start("bytes x-2/3"), None);
    }
}
