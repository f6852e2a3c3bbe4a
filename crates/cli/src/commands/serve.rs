//! `cairn serve`: the library as a local server (the OpenAI chat-completions API with cited
//! answers, search, documents) for editors, scripts and other assistants on this computer.

use crate::app::Paths;
use crate::commands::ask::{self, AnswerArgs};
use anyhow::Context;
use cairn_serve::{Library, Server, Token};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The address to listen on. Loopback (the default) is this computer only; any other
    /// address lets other computers on the network ask the library, guarded by the token alone.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// The port (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    #[command(flatten)]
    answer: AnswerArgs,
}

pub async fn run(paths: &Paths, args: Args) -> anyhow::Result<ExitCode> {
    let token = match std::env::var("CAIRN_TOKEN") {
        Ok(token) => Token::new(token).context(
            "CAIRN_TOKEN must have at least 16 characters: it is all that guards the library",
        )?,
        Err(_) => {
            let token = Token::generate().context("cannot make a token")?;
            eprintln!(
                "token (shown this once; clients send `Authorization: Bearer <token>`, or set \
                 CAIRN_TOKEN to choose one):\n{}",
                token.reveal()
            );
            token
        }
    };
    if !args.host.is_loopback() {
        eprintln!(
            "warning: listening on {}: other computers that reach this address can ask your \
             documents, guarded only by the token, over unencrypted HTTP",
            args.host
        );
    }
    // The data folder's lock is held from here: the app (or another `cairn`) cannot open the
    // same folder while this serves.
    let session = ask::open(paths, args.answer).await?;
    let settings = session.settings();
    let ask::Session { engine, models, .. } = session;
    let library = Library {
        engine,
        generator: models.generator,
        settings,
    };
    let server = Server::bind(SocketAddr::new(args.host, args.port), library, token).await?;
    let address = server.address();
    // On stdout, for scripts that start the server and read where it is.
    println!("listening on http://{address}");
    eprintln!(
        "OpenAI API at http://{address}/v1 (model `{}`), search and documents at \
         http://{address}/api/v1; Ctrl-C stops",
        cairn_serve::MODEL_NAME
    );
    let stop = crate::interrupt::ctrl_c()?;
    server
        .run(async move {
            stop.await;
        })
        .await?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}
