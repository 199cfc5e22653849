//! Herald's notifications: who is told what, how, and the guarantees around it.
#![forbid(unsafe_code)]

pub mod egress;
pub mod signing;
