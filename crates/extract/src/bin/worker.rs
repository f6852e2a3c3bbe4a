//! Stand-alone extraction worker, for the crate's tests and for embedders of the library;
//! the `cairn` binary serves the same protocol from a hidden subcommand.

fn main() {
    let path = std::env::args_os().nth(1).unwrap_or_default();
    std::process::exit(cairn_extract::worker::serve(std::path::Path::new(&path)));
}
