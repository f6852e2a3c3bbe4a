//! The Cairn desktop app. The same binary also serves as its own extraction worker.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == "extract-worker") {
        let Some(path) = args.next() else {
            return ExitCode::from(2);
        };
        let code = cairn_extract::worker::serve(std::path::Path::new(&path));
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    cairn_desktop::run()
}
