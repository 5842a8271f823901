//! The floor: a bare tokio-tungstenite broadcast server — no authentication, no filtering,
//! no audit — sending one message to every connection when its control port receives a byte.

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

pub fn serve(port: u16, control: u16, bytes: usize) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(async move {
            let (tx, _) = broadcast::channel::<Message>(16);
            let ws = TcpListener::bind(("127.0.0.1", port)).await?;
            let ctl = TcpListener::bind(("127.0.0.1", control)).await?;
            let payload = Message::text("x".repeat(bytes.max(1)));
            let trigger = tx.clone();
            tokio::spawn(async move {
                while let Ok((mut s, _)) = ctl.accept().await {
                    let mut b = [0u8; 1];
                    if s.read_exact(&mut b).await.is_ok() {
                        let _ = trigger.send(payload.clone());
                    }
                }
            });
            loop {
                let (stream, _) = ws.accept().await?;
                // As actix-web does for cirhub: no Nagle delay on small frames.
                let _ = stream.set_nodelay(true);
                let mut rx = tx.subscribe();
                tokio::spawn(async move {
                    // Connections to `/quiet` get nothing: the same share of non-receivers as
                    // the cirhub run, so both deliver the same fan-out.
                    let mut quiet = false;
                    #[allow(clippy::result_large_err)] // the handshake callback's signature
                    let cb = |req: &Request, res: Response| {
                        quiet = req.uri().path() == "/quiet";
                        Ok(res)
                    };
                    let Ok(conn) = tokio_tungstenite::accept_hdr_async(stream, cb).await else {
                        return;
                    };
                    if quiet {
                        drop(rx);
                        rx = broadcast::channel(1).1;
                    }
                    let (mut sink, mut read) = conn.split();
                    loop {
                        tokio::select! {
                            m = rx.recv() => match m {
                                Ok(m) => if sink.send(m).await.is_err() { return },
                                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                                Err(_) => return,
                            },
                            r = read.next() => if !matches!(r, Some(Ok(_))) { return },
                        }
                    }
                });
            }
        })
}
