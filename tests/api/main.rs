//! Integration tests: the real server on a random port with a fresh SQLite file each.

mod accounts;
mod apps;
mod bookings;
mod crash;
mod delivery;
mod helpers;
mod pages;
mod properties;
mod receiver;
mod webhooks;
