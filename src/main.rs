//! The `hearth` binary: command line and wiring only.

mod config;
mod media;
mod sessions;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use hearth_api::{ApiConfig, AppState};
use hearth_bus::{Bus, LocalBus};
use hearth_model::SnowflakeGenerator;
use hearth_sfu::Sfu;
use hearth_signaling::Gateway;
use hearth_store::SqliteStore;
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, ServeConfig};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HEARTH_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = args.resolve()?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(config))
        }
    }
}

/// Every gateway connection is a file descriptor; the usual soft limit of
/// 1024 would cap a node at about a thousand clients. Raise it to the hard
/// limit the operator allows.
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                tracing::warn!("could not raise the open-file limit");
            }
        }
    }
}

async fn serve(mut config: ServeConfig) -> anyhow::Result<()> {
    raise_fd_limit();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = SqliteStore::open(&config.data_dir, config.durability)
        .await
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let ids = SnowflakeGenerator::new((config.node_id >> 5) as u8, (config.node_id & 0x1f) as u8);
    let api = ApiConfig {
        rate_limits: config.rate_limits,
        max_body_bytes: config.max_body_bytes,
    };
    // Bound first: the voice endpoint clients are sent to names the actual
    // address (the port may have been 0).
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    config.gateway.voice_endpoint = match config.voice_endpoint.take() {
        Some(endpoint) => endpoint,
        None => {
            if addr.ip().is_unspecified() {
                tracing::warn!(%addr, "listening on every interface: set --voice-endpoint to an address clients can reach");
            }
            format!("{addr}/voice")
        }
    };

    let store: Arc<SqliteStore> = Arc::new(store);
    let bus: Arc<dyn Bus> = Arc::new(LocalBus::new());
    let gateway = Gateway::new(config.gateway.clone(), store.clone(), bus.clone());
    // One registry for the node: each component registers its metrics in it.
    let mut registry = prometheus_client::registry::Registry::with_prefix("hearth");
    let state = AppState::new(store.clone(), bus, ids, api, &mut registry);
    let sfu = Sfu::start(config.sfu.clone(), &mut registry).context("starting the SFU workers")?;
    media::connect(&gateway, &sfu, &state);
    sessions::connect(&gateway, &state);
    let app = hearth_api::router(state)
        .merge(hearth_signaling::router(gateway.clone()))
        .merge(hearth_sfu::voice_gateway::router(sfu.clone()))
        .merge(hearth_api::metrics::router(Arc::new(registry)))
        .merge(web::router(&config.gateway.voice_endpoint));

    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    // Tests and scripts wait for this exact line on stdout.
    println!("hearth listening on http://{addr}");

    // Gateway frames are small and latency-bound: no Nagle delay.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Clients reconnect (op 7) rather than wait out a dead socket.
        gateway.shutdown();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    })
    .await?;
    tracing::info!("shutting down");
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
