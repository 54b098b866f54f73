//! lakegate's integration tests: one binary, so a change links once.

mod cases;
mod cli;
mod docs;
mod fixtures;
mod support;
