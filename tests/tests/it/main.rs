//! End-to-end tests of the shipped binaries: real processes, real sockets on 127.0.0.1, real
//! SQLite files in temporary directories. One binary, one `mod` per area.

mod admin;
mod balikan;
mod faults;
mod fixtures;
mod gateway;
mod poc_documents;
mod poc_session;
mod regression;
mod support;
