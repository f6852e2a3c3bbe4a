//! `cairn key`: the API key of a model server, kept in the system keychain so that it is
//! never on a command line, in a shell history or in a file.

use anyhow::Context;
use cairn_models::remote::keychain;
use cairn_models::ApiKey;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Store the key of the server at URL (read from stdin: paste it and press Enter).
    Set { url: String },
    /// Remove the key of the server at URL.
    Forget { url: String },
    /// Say whether a key is stored for the server at URL (the key itself is never shown).
    Check { url: String },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Set { url } => {
            let server = keychain::account(&url)?;
            eprintln!("the API key for {server} (input is read from stdin):");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the key from stdin")?;
            let key = ApiKey::new(line).context("no key was given")?;
            keychain::store_async(url, key).await?;
            println!("stored the key for {server} in the system keychain");
        }
        Command::Forget { url } => {
            let server = keychain::account(&url)?;
            if keychain::forget_async(url).await? {
                println!("removed the key for {server}");
            } else {
                println!("no key was stored for {server}");
            }
        }
        Command::Check { url } => {
            let server = keychain::account(&url)?;
            if keychain::stored_async(url).await?.is_some() {
                println!("a key is stored for {server}");
            } else {
                println!("no key is stored for {server}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
