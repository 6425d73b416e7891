//! Integration tests: the real server on a random port with a fresh SQLite file each.

mod accounts;
mod apps;
mod bookings;
mod helpers;
mod pages;
mod properties;
mod webhooks;
