//! The integration tests, one binary: the real tfreuse binary (through
//! `CARGO_BIN_EXE_tfreuse`) and the library (in process) against the committed fixtures, Python TF as the
//! oracle. One module per area; `common` holds the shared helpers and the `Train` builder.

mod common;

mod architecture;
mod audit;
mod bad_input;
mod cli;
mod dist;
mod examples;
mod faults;
mod fuzz_corpus;
mod graphs;
mod images;
mod install;
mod kinds;
mod new;
mod protos;
mod reference;
mod server;
mod slim;
mod stages;
mod summary;
mod sweep;
mod train;
mod zoo;
mod zoo_slim;
