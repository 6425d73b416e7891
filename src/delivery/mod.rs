//! Outbound delivery of webhooks: the worker, its HTTP client with the SSRF guard, signing,
//! the retry rules and the metrics.

mod admission;
mod attempt;
pub mod client;
pub mod metrics;
mod record;
pub mod retry;
pub mod signing;
pub mod ssrf;
pub mod worker;
