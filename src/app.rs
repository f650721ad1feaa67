//! Running Atlas: start the actors, serve HTTP, and stop in order (HTTP first, then the writer, which
//! applies what it queued, checkpoints the WAL with `TRUNCATE` and closes the database).

use crate::http;
use crate::settings::Settings;
use atlas_actors::domain::SystemClock;
use atlas_actors::health::watchdog::notify;
use atlas_actors::Handles;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("{0}")]
    Startup(String),
    #[error("cannot serve HTTP on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("an actor could not be kept alive: {0}")]
    Fatal(String),
    #[error("shutdown did not complete cleanly: {0}")]
    Shutdown(String),
}

impl AppError {
    /// The process exit code: 70 (EX_SOFTWARE) for a dead actor, so systemd's `Restart=on-failure` acts.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Fatal(_) => 70,
            _ => 1,
        }
    }
}

/// A started Atlas: its actors and its HTTP server.
pub struct App {
    pub handles: Handles,
    pub addr: SocketAddr,
    server: actix_web::dev::Server,
    writer_grace: Duration,
    /// Held until the App is gone: no other process writes this database meanwhile.
    _lock: crate::service_lock::DataLock,
    admin_socket: tokio::task::JoinHandle<()>,
    socket_path: std::path::PathBuf,
}

/// Binds the configured address (before anything is started, so a busy port fails fast).
pub fn bind(settings: &Settings) -> Result<TcpListener, AppError> {
    TcpListener::bind(settings.http.addr)
        .map_err(|source| AppError::Listen { addr: settings.http.addr.to_string(), source })
}

/// Starts the actors (migrating the database), makes sure someone can log in, and starts the HTTP server on
/// `listener`. Needs an actix System.
pub async fn start(settings: &Settings, listener: TcpListener) -> Result<App, AppError> {
    start_with_clock(settings, listener, Arc::new(SystemClock)).await
}

/// `start` on another clock (tests move time with a `ManualClock`): every actor that decides by time asks it.
pub async fn start_with_clock(
    settings: &Settings,
    listener: TcpListener,
    clock: Arc<dyn atlas_actors::domain::Clock>,
) -> Result<App, AppError> {
    let addr = listener.local_addr().map_err(|source| AppError::Listen { addr: "listener".into(), source })?;
    let lock = crate::service_lock::DataLock::acquire(&settings.database.path)
        .map_err(|err| AppError::Startup(format!("{err}; one service per database: stop the other one first")))?;
    let handles = atlas_actors::start(settings.supervisor_config(), clock).await.map_err(AppError::Startup)?;
    if let Some(file) =
        crate::bootstrap::ensure_admin_token(&handles, &settings.database.path).await.map_err(AppError::Startup)?
    {
        eprintln!("atlas: created the first admin token; it is in {} (readable only by this user)", file.display());
    }
    let server = http::server(handles.clone(), settings, listener)
        .map_err(|source| AppError::Listen { addr: addr.to_string(), source })?;
    let admin_socket =
        crate::admin_socket::serve(&settings.database.path, handles.clone()).map_err(AppError::Startup)?;
    Ok(App {
        handles,
        addr,
        server,
        writer_grace: Duration::from_secs(settings.http.shutdown_timeout_s + 5),
        _lock: lock,
        admin_socket,
        socket_path: crate::admin_socket::socket_path(&settings.database.path),
    })
}

impl App {
    /// Serves until `shutdown` resolves (a signal) or an actor dies for good; then stops in order.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
        let server_handle = self.server.handle();
        let mut server_task = actix_web::rt::spawn(self.server);
        tracing::info!(addr = %self.addr, console = %format!("http://{}/console/", self.addr), "Atlas is serving.");
        // Type=notify: migrations ran (the writer opened the database) and HTTP listens.
        notify(&format!("READY=1\nSTATUS=serving on {}", self.addr));
        let fatal = tokio::select! {
            () = shutdown => { tracing::info!("Shutdown requested."); None }
            reason = self.handles.fatal() => Some(reason),
            result = &mut server_task => Some(format!("the HTTP server stopped unexpectedly: {result:?}")),
        };
        notify("STOPPING=1");
        self.admin_socket.abort();
        let _ = std::fs::remove_file(&self.socket_path);
        server_handle.stop(true).await;
        let closed = tokio::time::timeout(self.writer_grace, self.handles.shutdown()).await;
        if let Some(reason) = fatal {
            return Err(AppError::Fatal(reason));
        }
        match closed {
            Ok(Ok(())) => {
                tracing::info!("Atlas stopped cleanly.");
                Ok(())
            }
            Ok(Err(err)) => Err(AppError::Shutdown(err)),
            Err(_) => Err(AppError::Shutdown(format!("the writer did not finish within {:?}", self.writer_grace))),
        }
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called (not when the future is
/// first polled), so a signal that arrives right after "Atlas is serving." is caught, never the default
/// action. Needs a Tokio runtime.
pub fn termination_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
        async move {
            match handlers {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
