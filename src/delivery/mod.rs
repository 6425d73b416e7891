//! Outbound delivery of webhooks: the SSRF guard now; the worker and its HTTP client next.

pub mod ssrf;
