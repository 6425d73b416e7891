//! The headers every answer carries for the browser's protection: the panel's
//! Content-Security-Policy with its per-response nonce, framing refused, no MIME sniffing, the
//! referrer kept in the site, HSTS when the public URL is https, and no caching of what a
//! signed-in person or an API key may see.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

/// What the headers depend on: only whether the panel is served over https.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Sends `Strict-Transport-Security`: the public URL is `https://`.
    pub https: bool,
}

/// HSTS for a year; subdomains are the operator's to decide, so they are left out.
const HSTS: &str = "max-age=31536000";

/// Everything but a page: nothing may run, load or frame it.
const NOT_A_PAGE: &str = "default-src 'none'; frame-ancestors 'none'";

/// The policy of a panel page. Scripts: this response's nonce on the inline ones (Leptos's
/// hydration and serialized data), the site's own files (`/pkg`, RapiDoc under `/reference`),
/// and `'wasm-unsafe-eval'` because compiling the WASM bundle needs it. No inline style (but see
/// [`allows_inline_styles`]), no remote origin, no plugins, no `<base>`, forms post only here, no
/// one frames the panel. Live updates (server-sent events) and server functions are same-origin
/// `connect-src`.
fn page_policy(nonce: &str, inline_styles: bool) -> String {
    let style = if inline_styles {
        "'self' 'unsafe-inline'"
    } else {
        "'self'"
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src {style}; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The one exception: the API reference page (`/apps/{app}/reference`) renders RapiDoc, a
/// third-party web component whose templates style elements inline (some 250 `style`
/// attributes, and `<style>` elements it adds). Its document alone allows inline styles, never
/// inline scripts; the panel links to it with `rel="external"`, so it is always loaded as a
/// document of its own and no other page is given this policy on the way in.
fn allows_inline_styles(path: &str) -> bool {
    path.strip_prefix("/apps/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, page)| page == "reference")
}

/// Adds the headers to every answer. A page's nonce is made here, handed to the page renderer
/// through the request's extensions ([`provide_page_nonce`]) and named in its policy.
pub async fn headers(State(policy): State<Policy>, mut req: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let inline_styles = allows_inline_styles(req.uri().path());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if is_type(h, "text/html") {
        // A nonce is URL-safe base64, so the policy is always a valid header value.
        HeaderValue::from_str(&page_policy(&nonce, inline_styles)).ok()
    } else {
        Some(HeaderValue::from_static(NOT_A_PAGE))
    };
    if let Some(csp) = csp {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if policy.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) && !is_static_file(h) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// For the page renderer's context: the nonce [`headers`] named in this response's policy, so
/// that Leptos's inline scripts carry it (Leptos would otherwise make one of its own).
pub fn provide_page_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// The site's own files (the WASM bundle, its JS, the stylesheet, RapiDoc, images, fonts) may
/// be cached; they hold nothing of anyone's. Every other answer is a page, an API answer or a
/// stream that may hold an account's data.
fn is_static_file(h: &HeaderMap) -> bool {
    [
        "javascript",
        "application/wasm",
        "text/css",
        "image/",
        "font/",
    ]
    .iter()
    .any(|t| is_type(h, t))
}

fn is_type(h: &HeaderMap, prefix: &str) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(t).unwrap());
        h
    }

    #[test]
    fn the_page_policy_allows_no_inline_script_but_its_nonce() {
        for inline_styles in [false, true] {
            let p = page_policy("abc123", inline_styles);
            let script = p.split("; ").find(|d| d.starts_with("script-src")).unwrap();
            assert_eq!(
                script,
                "script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"
            );
            assert_eq!(p.contains("unsafe-inline"), inline_styles, "{p}");
            assert!(!p.contains("http"));
            for d in [
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ] {
                assert!(p.contains(d), "{d} missing from {p}");
            }
        }
    }

    #[test]
    fn only_the_api_reference_allows_inline_styles() {
        assert!(allows_inline_styles("/apps/demo/reference"));
        for path in [
            "/apps/demo/bookings",
            "/apps/demo/reference/x",
            "/apps/reference",
            "/reference/rapidoc-min.js",
            "/apps/demo/inspector/reference",
        ] {
            assert!(!allows_inline_styles(path), "{path}");
        }
    }

    #[test]
    fn only_the_sites_own_files_are_cacheable() {
        for t in [
            "text/javascript",
            "application/javascript",
            "application/wasm",
            "text/css",
            "image/svg+xml",
        ] {
            assert!(is_static_file(&typed(t)), "{t}");
        }
        for t in [
            "text/html; charset=utf-8",
            "application/json",
            "text/event-stream",
            "text/plain; charset=utf-8",
        ] {
            assert!(!is_static_file(&typed(t)), "{t}");
        }
        assert!(!is_static_file(&HeaderMap::new()));
    }
}
