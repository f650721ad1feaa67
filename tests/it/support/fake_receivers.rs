//! Local alert receivers on 127.0.0.1: an HTTP server that records every webhook / Telegram Bot API call,
//! and a minimal SMTP server that records every message. Both stop with the test's System.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// `(path, JSON body)` of every request, in order.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<(String, Value)>>>);

impl Received {
    pub fn all(&self) -> Vec<(String, Value)> {
        self.0.lock().unwrap().clone()
    }
}

pub struct FakeHttpReceiver {
    pub url: String,
    /// What was taken (answered 200).
    pub received: Received,
    /// While set, every request is answered 500 (and not recorded as received).
    pub failing: Arc<AtomicBool>,
    /// Every request, taken or not.
    pub attempts: Arc<AtomicUsize>,
}

async fn receive(
    req: HttpRequest,
    body: web::Json<Value>,
    received: web::Data<Received>,
    switch: web::Data<(Arc<AtomicBool>, Arc<AtomicUsize>)>,
) -> HttpResponse {
    switch.1.fetch_add(1, Ordering::SeqCst);
    if switch.0.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError().body("failing on purpose");
    }
    received.0.lock().unwrap().push((req.path().to_owned(), body.into_inner()));
    if req.path().contains("/sendMessage") {
        return HttpResponse::Ok().json(serde_json::json!({ "ok": true, "result": { "message_id": 1 } }));
    }
    HttpResponse::Ok().body("ok")
}

impl FakeHttpReceiver {
    pub async fn start() -> Self {
        let received = Received::default();
        let (failing, attempts) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let data = web::Data::new(received.clone());
        let switch = web::Data::new((failing.clone(), attempts.clone()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).app_data(switch.clone()).default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server);
        Self { url, received, failing, attempts }
    }
}

/// One message as the SMTP server saw it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

pub struct FakeSmtp {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    /// Milliseconds the server waits before its greeting (a slow mail server).
    pub delay_ms: Arc<AtomicUsize>,
}

impl FakeSmtp {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let delay_ms = Arc::new(AtomicUsize::new(0));
        let (store, delay) = (mails.clone(), delay_ms.clone());
        actix_rt::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (store, delay) = (store.clone(), delay.clone());
                actix_rt::spawn(async move {
                    let _ = session(socket, store, delay).await;
                });
            }
        });
        Self { port, mails, delay_ms }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

/// The server side of RFC 5321, just enough for a client without TLS or auth.
async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Mail>>>,
    delay: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let wait = delay.load(Ordering::SeqCst) as u64;
    if wait > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
    write.write_all(b"220 fake-smtp ready\r\n").await?;
    let mut mail = Mail { from: String::new(), to: Vec::new(), data: String::new() };
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write.write_all(b"250-fake-smtp\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            write.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            write.write_all(b"250 ok\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            while let Some(data) = lines.next_line().await? {
                if data == "." {
                    break;
                }
                // RFC 5321 4.5.2: the client doubled a line's leading period; the receiver takes one off.
                mail.data.push_str(data.strip_prefix('.').unwrap_or(&data));
                mail.data.push('\n');
            }
            store
                .lock()
                .unwrap()
                .push(std::mem::replace(&mut mail, Mail { from: String::new(), to: Vec::new(), data: String::new() }));
            write.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            break;
        } else {
            write.write_all(b"250 ok\r\n").await?;
        }
    }
    Ok(())
}
