//! Serves a file the way the Hugging Face Hub does, on loopback, for Cairn's end-to-end
//! tests: `hub-test-server FILE REPO [MODE]` prints the endpoint, then serves until killed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_hub::test_server::{serve, Mode};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(repo)) = (args.get(1), args.get(2)) else {
        eprintln!(
            "usage: hub-test-server FILE ORG/REPO [normal|slow|cut|stall|ignore-range|corrupt]"
        );
        std::process::exit(2);
    };
    let mode: Mode = args.get(3).map_or(Ok(Mode::Normal), |m| m.parse()).unwrap();
    let bytes = std::fs::read(file).expect("the file to serve");
    let name = std::path::Path::new(file)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (endpoint, _served) = serve(repo, "main", &name, bytes, mode).await.unwrap();
    println!("{endpoint}");
    std::future::pending::<()>().await;
}
