//! The page's files: wasm, JS, CSS and chunks under `/pkg`, and the
//! favicon. A release binary carries them (`build.rs`), precompressed,
//! under `/pkg/<version>/…` with a year's immutable caching; otherwise
//! they are read from a built site on disk (`--site-root`), as in
//! development.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// One file of the embedded site, with its precompressed copies.
#[derive(Debug)]
pub struct File {
    /// `pkg/hale.wasm`, `favicon.svg`.
    pub path: &'static str,
    pub raw: &'static [u8],
    pub gzip: Option<&'static [u8]>,
    pub brotli: Option<&'static [u8]>,
}

/// A site the binary carries.
#[derive(Debug)]
pub struct Embedded {
    /// Named after its files' contents: the path segment after `/pkg`.
    pub version: &'static str,
    pub files: &'static [File],
}

#[cfg(hale_embedded_site)]
mod generated {
    use super::File;
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

/// The site this binary carries, if it was built with one
/// (`scripts/release.sh`).
pub fn embedded() -> Option<&'static Embedded> {
    #[cfg(hale_embedded_site)]
    {
        static SITE: Embedded = Embedded {
            version: generated::VERSION,
            files: generated::FILES,
        };
        Some(&SITE)
    }
    #[cfg(not(hale_embedded_site))]
    None
}

/// Where the page's files come from.
#[derive(Clone, Debug)]
pub enum Site {
    /// A built site's directory (`target/site`): `pkg/` and the favicon.
    Disk(String),
    Embedded(&'static Embedded),
}

impl Default for Site {
    fn default() -> Site {
        Site::Disk("target/site".into())
    }
}

/// A year: how long a browser may keep a file whose URL names its
/// version.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

impl Embedded {
    /// `pkg/<version>`: where the page asks for its files.
    pub fn pkg_dir(&self) -> String {
        format!("pkg/{}", self.version)
    }

    fn file(&self, path: &str) -> Option<&'static File> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The files beside `pkg/` (the favicon), served at the root.
    pub fn root_files(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.files
            .iter()
            .map(|f| f.path)
            .filter(|p| !p.starts_with("pkg/"))
    }

    /// What the lazy islands' chunks need, for the server to ask the
    /// browser to preload them (leptos reads it from disk otherwise):
    /// (module → chunks), from `__wasm_split_manifest.json`.
    pub fn split_manifest(&self) -> Option<HashMap<String, Vec<String>>> {
        let file = self.file("pkg/__wasm_split_manifest.json")?;
        serde_json::from_slice(file.raw).ok()
    }

    /// Answers `GET /pkg/<rest>` or `GET /<root file>` (`path` without
    /// its leading `/`): the versioned URL is immutable; an unversioned
    /// one (`/pkg/hale.css`) is served too, revalidated by its version.
    pub fn serve(&self, path: &str, request: &HeaderMap) -> Response {
        let (name, cache) = match path
            .strip_prefix("pkg/")
            .and_then(|rest| rest.strip_prefix(self.version))
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(rest) => (format!("pkg/{rest}"), IMMUTABLE),
            None => (path.to_string(), "no-cache"),
        };
        let Some(file) = self.file(&name) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let etag = format!("\"{}\"", self.version);
        if request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
        {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        let accepted = |coding: &str| accepts(request, coding);
        let (body, encoding) = match (file.brotli, file.gzip) {
            (Some(br), _) if accepted("br") => (br, Some("br")),
            (_, Some(gz)) if accepted("gzip") => (gz, Some("gzip")),
            _ => (file.raw, None),
        };
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(&name)));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    }
}

/// Whether `Accept-Encoding` takes `coding` (by name or `*`; not at
/// `q=0`).
pub fn accepts(request: &HeaderMap, coding: &str) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (name.eq_ignore_ascii_case(coding) || name == "*") && !zero
        })
}

fn mime(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The handler of `/pkg/…` and the root files for an embedded site.
pub async fn serve_embedded(
    axum::extract::State(site): axum::extract::State<&'static Embedded>,
    request: Request,
) -> Response {
    let path = request.uri().path().trim_start_matches('/').to_string();
    site.serve(&path, request.headers())
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: [File; 3] = [
        File {
            path: "pkg/hale.js",
            raw: b"raw js",
            gzip: Some(b"gz js"),
            brotli: Some(b"br js"),
        },
        File {
            path: "pkg/hale.wasm",
            raw: b"\0asm",
            gzip: None,
            brotli: None,
        },
        File {
            path: "favicon.svg",
            raw: b"<svg/>",
            gzip: None,
            brotli: None,
        },
    ];
    static SITE: Embedded = Embedded {
        version: "0123456789abcdef",
        files: &FILES,
    };

    async fn get(path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = HeaderMap::new();
        for (name, value) in headers {
            request.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let response = SITE.serve(path, &request);
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, body.to_vec())
    }

    #[tokio::test]
    async fn versioned_files_are_immutable_and_sent_in_the_best_coding_taken() {
        let path = "pkg/0123456789abcdef/hale.js";
        let (status, headers, body) = get(path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"br js");
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(headers[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(headers[header::VARY], "accept-encoding");
        let (_, headers, body) = get(path, &[("accept-encoding", "br;q=0, gzip;q=0.5")]).await;
        assert_eq!(body, b"gz js");
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        let (_, headers, body) = get(path, &[]).await;
        assert_eq!(body, b"raw js");
        assert!(headers.get(header::CONTENT_ENCODING).is_none());
        // A file without copies goes as it is, whatever is accepted.
        let (_, headers, body) = get(
            "pkg/0123456789abcdef/hale.wasm",
            &[("accept-encoding", "br")],
        )
        .await;
        assert_eq!(body, b"\0asm");
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert!(headers.get(header::CONTENT_ENCODING).is_none());
    }

    #[tokio::test]
    async fn unversioned_and_root_files_are_revalidated_and_unknown_ones_missing() {
        let (status, headers, _) = get("pkg/hale.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert_eq!(headers[header::ETAG], "\"0123456789abcdef\"");
        let (status, _, body) =
            get("pkg/hale.js", &[("if-none-match", "\"0123456789abcdef\"")]).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
        let (status, headers, body) = get("favicon.svg", &[]).await;
        assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"<svg/>"[..]));
        assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
        // An older build's version, a file that is not there, a path out.
        for missing in [
            "pkg/fedcba9876543210/hale.js",
            "pkg/0123456789abcdef/nothing.js",
            "pkg/0123456789abcdef/../favicon.svg",
        ] {
            assert_eq!(
                get(missing, &[]).await.0,
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
        assert_eq!(SITE.root_files().collect::<Vec<_>>(), ["favicon.svg"]);
    }
}
