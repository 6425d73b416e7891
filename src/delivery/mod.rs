//! Outbound delivery of webhooks: the worker in its stages (admission, attempt, record), its
//! HTTP client with the SSRF guard, signing and the retry rules.

mod admission;
mod attempt;
pub mod client;
mod record;
pub mod retry;
pub mod signing;
mod trace;
pub mod worker;
