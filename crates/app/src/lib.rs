//! The `herald` binary's glue: command line, configuration, logging, start-up and shutdown,
//! and the demo seed. Everything that decides anything lives in the library crates.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod import;
pub mod jobs;
pub mod migrate;
pub mod release;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod verify;
