//! Integration tests: the real server on a random port with a fresh database each (a SQLite
//! file, or with BOOKHOOK_TEST_BACKEND=postgres a PostgreSQL database).

mod access;
mod accounts;
mod apps;
mod bookings;
mod crash;
mod delivery;
mod hardening;
mod helpers;
mod instances;
mod pages;
mod properties;
mod receiver;
mod soak;
mod webhooks;
