//! Pure types and rules, compiled for the server and the browser alike.

pub mod app;
pub mod booking;
pub mod delivery;
pub mod graph;
pub mod log;
pub mod payload;
pub mod subscription;
pub mod webhook;
pub mod zone;
