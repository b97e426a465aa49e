//! End-to-end tests of the shipped binaries: real processes, real sockets on 127.0.0.1, real
//! SQLite files in temporary directories. One binary, one `mod` per area.

mod balikan;
mod faults;
mod admin;
mod fixtures;
mod gateway;
mod poc_documents;
mod residents;
mod support;
