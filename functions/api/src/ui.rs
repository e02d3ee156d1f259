//! The approvals page (`GET /ui`): one self-contained HTML document (no CDN, no external
//! asset), whose script calls the same JSON endpoints as every other client. Its inline
//! script and style are allowed by hash in a strict Content-Security-Policy.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

const SCRIPT: &str = include_str!("ui/page.js");
const STYLE: &str = include_str!("ui/page.css");

fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

fn html() -> &'static (String, String) {
    static PAGE: OnceLock<(String, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let body = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>Approvals · AgenticAIOps</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <header><h1>Pending approvals</h1><button id=\"refresh\" type=\"button\">Refresh</button></header>\n\
             <p id=\"status\" role=\"status\"></p>\n<main id=\"list\"></main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
        );
        let csp = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            csp_hash(SCRIPT),
            csp_hash(STYLE)
        );
        (body, csp)
    })
}

/// The page with its security headers.
pub fn page() -> Response {
    let (body, csp) = html();
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body.clone()).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
