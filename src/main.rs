//! The `hearth` binary: command line and wiring only.

mod admin;
mod cluster;
mod config;
mod conn_limit;
mod database;
mod drain;
mod files;
mod forwarded;
mod health;
mod http;
mod limits;
mod logging;
mod media;
mod sessions;
mod web;

use std::sync::Arc;

use anyhow::Context;
use hearth_api::{ApiConfig, AppState};
use hearth_bus::BusHealth;
use hearth_model::SnowflakeGenerator;
use hearth_sfu::Sfu;
use hearth_signaling::Gateway;

use crate::config::{Cli, Command, ServeConfig};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_grouped();
    match cli.command {
        Command::Serve(args) => {
            let config = args.resolve()?;
            logging::init(
                config.log_format,
                Some(logging::NodeFields {
                    node_id: config.node_id,
                    region: config.region.clone(),
                }),
            );
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(config))
        }
        Command::Admin(args) => {
            logging::init(config::LogFormat::Text, None);
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(admin::run(args))
        }
        Command::Drain(args) => {
            logging::init(config::LogFormat::Text, None);
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(drain::run(args))
        }
    }
}

/// Descriptors kept free of connections: the database and its journal,
/// the SFU's UDP sockets and wake-up pipes, log files, a backup.
const RESERVED_FDS: u64 = 512;

/// Every gateway connection is a file descriptor; the usual soft limit of
/// 1024 would cap a node at about a thousand clients. Raise it to the hard
/// limit the operator allows, and return the limit in force.
fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            } else {
                tracing::warn!("could not raise the open-file limit");
            }
        }
        // rlim_t is u64 on Linux but not on every unix.
        #[allow(clippy::unnecessary_cast)]
        Some(lim.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap: the operator's, but never so close to the
/// open-file limit that the database could not open a file.
fn connection_cap(configured: Option<u32>, fd_limit: Option<u64>) -> Option<u32> {
    let ceiling =
        fd_limit.map(|l| l.saturating_sub(RESERVED_FDS).max(64).min(u32::MAX as u64) as u32);
    match (configured, ceiling) {
        (Some(n), Some(c)) if n > c => {
            tracing::warn!(
                max_connections = n,
                open_file_limit = fd_limit,
                "max_connections leaves too few descriptors for the rest of the node: capped at {c}; raise the open-file limit (LimitNOFILE, ulimit -n) to allow more"
            );
            Some(c)
        }
        (Some(n), _) => Some(n),
        (None, c) => c,
    }
}

async fn serve(mut config: ServeConfig) -> anyhow::Result<()> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let fd_limit = raise_fd_limit();
    let max_connections = connection_cap(config.max_connections, fd_limit);
    tracing::info!(
        open_file_limit = fd_limit,
        max_connections,
        max_connections_per_address = config.max_connections_per_address,
        "connection limits"
    );
    if !config.trusted_proxies.is_empty() {
        tracing::info!(trusted_proxies = %config.trusted_proxies, "client addresses of these proxies' connections come from X-Forwarded-For");
    }
    let database = Arc::new(database::Database::open(&config).await?);
    let (node_id, lease) = cluster::node_id(config.cluster.as_ref(), config.node_id).await?;
    logging::set_node_id(node_id);
    tracing::info!(node_id, leased = lease.is_some(), "node id");
    let ids = SnowflakeGenerator::new((node_id >> 5) as u8, (node_id & 0x1f) as u8);
    let sfu_registry = match (config.cluster.clone(), &lease) {
        (Some(c), Some(lease)) => Some(cluster::voice_identity(&c, &mut config, lease).await?),
        _ => None,
    };
    if sfu_registry.is_some() {
        // `hearth drain` and the registry know the node by this name.
        tracing::info!(node = %config.gateway.node_name, role = ?config.role, "node name");
    }
    let api = ApiConfig {
        rate_limits: config.rate_limits,
        max_body_bytes: config.max_body_bytes,
        ack_batch_max: config.ack_batch_max,
        public_url: config.public_url.clone(),
        registration: config.registration.into(),
        limits: config.guild_limits,
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

    // One registry for the node: each component registers its metrics in it.
    let mut registry = prometheus_client::registry::Registry::with_prefix("hearth");
    // Every store call timed (`hearth_store_query_duration_seconds`).
    let store: Arc<dyn hearth_store::Store> = Arc::new(hearth_store::timed::Timed::new(
        database.store(),
        hearth_store::timed::StoreMetrics::register(&mut registry),
    ));
    let bus = cluster::bus(config.cluster.as_ref(), &mut registry).await?;
    config.gateway.public_url = config.public_url.clone();
    let gateway = Gateway::new(config.gateway.clone(), store.clone(), bus.clone());
    gateway.metrics.register(&mut registry);
    build_info(&mut registry);
    let state = AppState::new(store.clone(), bus, ids, api, &mut registry);
    state.set_files(files::open(&config, addr).await?);
    tokio::spawn(hearth_api::archive_idle_threads(state.clone()));
    if let Some(c) = &config.cluster {
        cluster::share(
            c,
            &gateway,
            &state,
            config.rate_limits,
            config.session_journal,
        )
        .await?;
    }
    let sfu = match config.role.media() {
        true => Some(
            Sfu::start(config.sfu.clone(), &mut registry).context("starting the SFU workers")?,
        ),
        false => None,
    };
    let edge_metrics = http::EdgeMetrics::register(&mut registry);
    let announced = match (&sfu_registry, &sfu) {
        (None, Some(sfu)) => {
            media::connect(&gateway, sfu, &state, &config.region);
            None
        }
        (None, None) => anyhow::bail!("a node alone must run its own SFU (role all)"),
        (Some(sfus), sfu) => {
            let nodes = match &config.cluster {
                Some(c) => hearth_bus::NodeNames::connect(&c.redis, &c.prefix).await?,
                None => anyhow::bail!("an SFU registry without a cluster"),
            };
            media::connect_cluster(
                &gateway,
                sfu.as_ref(),
                &state,
                sfus.clone(),
                config.region.clone(),
                config.regions.clone(),
                nodes,
            );
            gateway.bus.watch(hearth_proto::events::Topic::Voice).await;
            match sfu {
                Some(sfu) => Some(
                    media::announce(
                        sfu.clone(),
                        sfus.clone(),
                        config.region.clone(),
                        config.gateway.voice_endpoint.clone(),
                        config.sfu_max_participants,
                        &mut registry,
                    )
                    .await?,
                ),
                None => None,
            }
        }
    };
    let edge = http::EdgeConfig {
        header_timeout: config.http_header_timeout,
        body_timeout: config.http_body_timeout,
        upload_timeout: config.http_upload_timeout,
        limits: http::Limits {
            per_address: config.max_connections_per_address,
            total: max_connections,
        },
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
    };
    let metrics = hearth_api::metrics::router(
        Arc::new(registry),
        config.metrics_token.as_ref().map(|t| t.0.clone()),
    );
    let mut readiness = health::Readiness::default();
    readiness.add("store", database.clone(), |d| async move { d.ping().await });
    readiness.add("bus", gateway.bus.clone(), |b| async move {
        match b.health() {
            BusHealth::Disconnected => Err("Redis is unreachable: events do not cross nodes"),
            BusHealth::Local | BusHealth::Connected => Ok(()),
        }
    });
    if let Some(sfu) = &sfu {
        readiness.add("media", sfu.clone(), |s| async move { s.check_workers() });
    }
    let health = health::router(readiness);
    sessions::connect(&gateway, &state);
    let mut app = health.clone();
    if config.role.api() {
        app = app
            .merge(hearth_api::router(state))
            .merge(hearth_signaling::router(gateway.clone()))
            .merge(web::router(
                &config.gateway.voice_endpoint,
                config.cluster.is_some(),
            ));
    }
    if let Some(sfu) = &sfu {
        app = app.merge(hearth_sfu::voice_gateway::router(sfu.clone()));
    }
    let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(());
    match config.metrics_listen {
        None => app = app.merge(metrics),
        Some(metrics_addr) => {
            // Probes can go to the private address too, where a node full
            // of clients still answers them.
            let metrics = metrics.merge(health);
            let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
                .await
                .with_context(|| format!("binding {metrics_addr} for metrics"))?;
            let bound = metrics_listener.local_addr()?;
            tracing::info!(%bound, "serving metrics");
            println!("hearth metrics on http://{bound}/metrics");
            let mut stopped = metrics_stopped.clone();
            tokio::spawn(http::serve(
                metrics_listener,
                metrics,
                edge.clone(),
                // The scraper's connections are not the public's.
                http::EdgeMetrics::default(),
                async move {
                    let _ = stopped.changed().await;
                },
            ));
        }
    }

    tracing::info!(%addr, data_dir = %config.data_dir.display(), version = env!("CARGO_PKG_VERSION"), "serving");
    // Tests and scripts wait for this exact line on stdout.
    println!("hearth listening on http://{addr}");

    let id_lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = (lease.clone(), id_lost.clone());
    let drain_timeout = config.drain_timeout;
    http::serve(listener, app, edge, edge_metrics, async move {
        let (lease, id_lost) = stopping;
        match lease {
            None => shutdown_signal().await,
            Some(lease) => tokio::select! {
                _ = shutdown_signal() => {
                    // An SFU node of a cluster hands its calls on first.
                    if let Some(announced) = &announced {
                        announced.drain(drain_timeout).await;
                    }
                }
                _ = drain_asked(announced.clone()) => {
                    if let Some(announced) = &announced {
                        announced.drain(drain_timeout).await;
                    }
                }
                _ = lease.lost() => id_lost.store(true, std::sync::atomic::Ordering::Relaxed),
            },
        }
        // Clients reconnect (op 7) rather than wait out a dead socket.
        gateway.shutdown();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        gateway.hand_off().await;
    })
    .await;
    drop(stop_metrics);
    tracing::info!("shutting down");
    database.close().await;
    if id_lost.load(std::sync::atomic::Ordering::Relaxed) {
        anyhow::bail!("node id {node_id} was taken by another node while this one could not reach Redis; stopped so that no two nodes make the same ids");
    }
    if let Some(lease) = lease {
        lease.release().await;
    }
    Ok(())
}

/// `hearth_build_info{version="..."} 1`: which binary a node runs.
fn build_info(registry: &mut prometheus_client::registry::Registry) {
    use prometheus_client::metrics::{family::Family, gauge::Gauge};
    let info = Family::<Vec<(String, String)>, Gauge>::default();
    info.get_or_create(&vec![(
        "version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )])
    .set(1);
    registry.register(
        "build_info",
        "The version of the binary this node runs",
        info,
    );
}

/// Resolves when `hearth drain` asked this SFU node to drain; never
/// without one.
async fn drain_asked(announced: Option<Arc<media::AnnouncedSfu>>) {
    match announced {
        Some(a) => a.drain_asked().await,
        None => std::future::pending().await,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_descriptors_for_the_rest_of_the_node() {
        assert_eq!(connection_cap(None, Some(1024)), Some(512));
        assert_eq!(connection_cap(Some(100), Some(1024)), Some(100));
        assert_eq!(connection_cap(Some(5000), Some(1024)), Some(512));
        assert_eq!(connection_cap(None, Some(100)), Some(64));
        assert_eq!(connection_cap(Some(7), None), Some(7));
        assert_eq!(connection_cap(None, None), None);
    }
}
