//! Integration tests: the real server on a random port with a fresh database each (a SQLite
//! file, or with BOOKHOOK_TEST_BACKEND=postgres a PostgreSQL database). The backend is compiled
//! in (build.rs), so a test that needs PostgreSQL is reported as ignored in the SQLite run.

mod access;
mod accounts;
mod apps;
mod bookings;
mod client;
mod crash;
mod delivery;
mod faults;
mod formats;
mod hardening;
mod helpers;
mod instances;
mod openapi;
mod pages;
mod properties;
mod receiver;
mod search;
mod security;
mod snippets;
mod soak;
mod webhooks;
mod zones;
