//! Lightweight EdgeX core in one process: core-metadata, core-data, core-command and core-keeper over an
//! embedded redb store, an embedded MQTT broker, and a System Management Agent.
//!
//! [`run`] starts everything from a [`CoreBridgeConfig`] and returns a [`RunningCore`] with the bound
//! addresses (ports may be 0 in tests). Each API listens on its own port, as in a Go EdgeX deployment,
//! because the paths of core-metadata and core-command overlap.

pub mod api;
pub mod bridging;
pub mod broker;
pub mod bus;
pub mod command;
pub mod config;
pub mod data;
pub mod keeper;
pub mod metadata;
pub mod sma;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use config::CoreBridgeConfig;
pub use store::Store;

/// Startup failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address tried.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The embedded broker failed to start.
    #[error("embedded broker: {0}")]
    Broker(String),
    /// The message bus could not be connected.
    #[error("message bus: {0}")]
    Bus(String),
    /// Seeding the common configuration failed.
    #[error("core-keeper seed: {0}")]
    Seed(String),
    /// A `Bridges` entry is invalid (connection problems are retried, never reported here).
    #[error("bus bridge: {0}")]
    Bridge(String),
}

/// A running core.
#[derive(Debug)]
pub struct RunningCore {
    /// core-data API address.
    pub core_data: SocketAddr,
    /// core-metadata API address.
    pub core_metadata: SocketAddr,
    /// core-command API address.
    pub core_command: SocketAddr,
    /// core-keeper API address.
    pub core_keeper: SocketAddr,
    /// SMA address (None when `Sma.Enabled` is false).
    pub sma: Option<SocketAddr>,
    /// Embedded MQTT broker address (None when disabled).
    pub broker: Option<SocketAddr>,
    /// The store, for in-process inspection.
    pub store: Store,
    /// The SMA executor (None when the SMA is disabled).
    pub executor: Option<Arc<dyn sma::Executor>>,
    /// One status per `Bridges` entry.
    pub bridges: Vec<bridging::BridgeStatus>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

impl RunningCore {
    /// Wait until every server has stopped (after the shutdown token fires).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    /// Fire the shutdown token and wait for the servers to finish.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.wait().await;
    }
}

async fn serve(
    tasks: &mut JoinSet<()>,
    host: &str,
    port: u16,
    app: axum::Router,
    shutdown: &CancellationToken,
) -> Result<SocketAddr, StartError> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|source| StartError::Bind {
            addr: format!("{host}:{port}"),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: format!("{host}:{port}"),
        source,
    })?;
    let token = shutdown.clone();
    tasks.spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!("server on {addr} failed: {e}");
        }
    });
    Ok(addr)
}

/// Start every core service described by `config`; everything stops when `shutdown` is cancelled.
/// The common configuration is seeded without environment overrides (see [`run_with_env`]).
pub async fn run(
    config: CoreBridgeConfig,
    shutdown: CancellationToken,
) -> Result<RunningCore, StartError> {
    run_with_env(config, &edgex_bootstrap::EnvVars::default(), shutdown).await
}

/// [`run`], seeding the common configuration with `env`'s core-common-config-bootstrapper
/// overrides (`ALL_SERVICES_*`, `APP_SERVICES_*`, `DEVICE_SERVICES_*`); `main` passes the process
/// environment.
pub async fn run_with_env(
    config: CoreBridgeConfig,
    env: &edgex_bootstrap::EnvVars,
    shutdown: CancellationToken,
) -> Result<RunningCore, StartError> {
    let core_bus_cfg = (!config.message_bus.disabled).then_some(&config.message_bus);
    for (i, b) in config.bridges.iter().enumerate() {
        b.validate(i, core_bus_cfg).map_err(StartError::Bridge)?;
    }
    let store = if config.database.path.as_os_str() == config::MEMORY {
        Store::in_memory()?
    } else {
        let path = config.database.path.clone();
        tokio::task::spawn_blocking(move || Store::open(&path))
            .await
            .map_err(|e| StartError::Store(store::StoreError::Db(e.to_string())))??
    };
    let seeded = keeper::seed_common_config(&store, env).map_err(StartError::Seed)?;
    if seeded > 0 {
        tracing::info!("seeded {seeded} common configuration keys");
    }

    let broker = if config.embedded_broker.enabled {
        let cfg = config.embedded_broker.clone();
        let addr = tokio::task::spawn_blocking(move || broker::start(&cfg))
            .await
            .map_err(|e| StartError::Broker(e.to_string()))?
            .map_err(StartError::Broker)?;
        tracing::info!("embedded MQTT broker listening on {addr}");
        Some(addr)
    } else {
        None
    };
    let bus = if config.message_bus.disabled {
        None
    } else {
        let secret = config.bus_secret();
        let b = bus::Bus::connect(&config.message_bus, secret.as_ref(), broker)
            .await
            .map_err(|e| StartError::Bus(e.to_string()))?;
        tracing::info!(backend = b.bus.backend(), "message bus connected");
        Some(b)
    };

    let cfg_json = serde_json::to_value(&config).unwrap_or_default();
    let timeout = config.service.timeout();
    let max = config.service.max_result_count.max(1);
    let host = config.service.server_bind_addr.clone();
    let mut tasks = JoinSet::new();

    let md = metadata::Metadata::new(store.clone(), bus.clone(), max, timeout, cfg_json.clone());
    let core_metadata = serve(
        &mut tasks,
        &host,
        config.core_metadata.port,
        metadata::router(md),
        &shutdown,
    )
    .await?;

    let data_state = data::Data::new(
        store.clone(),
        bus.clone(),
        config.core_data.clone(),
        max,
        cfg_json.clone(),
    );
    let core_data = serve(
        &mut tasks,
        &host,
        config.core_data.port,
        data::router(data_state),
        &shutdown,
    )
    .await?;

    let cmd_listener_port = config.core_command.port;
    let keeper_app = keeper::router(store.clone(), cfg_json.clone());
    let core_keeper = serve(
        &mut tasks,
        &host,
        config.core_keeper.port,
        keeper_app,
        &shutdown,
    )
    .await?;

    // The command API advertises its own URL, so bind first with a placeholder-free state.
    let listener = tokio::net::TcpListener::bind((host.as_str(), cmd_listener_port))
        .await
        .map_err(|source| StartError::Bind {
            addr: format!("{host}:{cmd_listener_port}"),
            source,
        })?;
    let core_command = listener.local_addr().map_err(|source| StartError::Bind {
        addr: format!("{host}:{cmd_listener_port}"),
        source,
    })?;
    let command_url = format!("http://{}:{}", config.service.host, core_command.port());
    let cmd = command::Command::new(
        store.clone(),
        command_url.clone(),
        timeout,
        max,
        cfg_json.clone(),
    );
    {
        let token = shutdown.clone();
        let app = command::router(cmd);
        tasks.spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
            if let Err(e) = r {
                tracing::error!("core-command server failed: {e}");
            }
        });
    }

    let (sma_addr, executor) = if config.sma.enabled {
        let exec = sma::executor_for(&config.sma, shutdown.clone());
        let agent = sma::Sma::new(
            config.sma.clone(),
            exec.clone(),
            store.clone(),
            cfg_json.clone(),
        );
        let addr = serve(
            &mut tasks,
            &host,
            config.sma.port,
            sma::router(agent.clone()),
            &shutdown,
        )
        .await?;
        tokio::spawn(async move { agent.auto_start().await });
        (Some(addr), Some(exec))
    } else {
        (None, None)
    };

    if let Some(b) = &bus {
        let (inner, tok) = (b.bus.clone(), shutdown.clone());
        tasks.spawn(async move {
            tok.cancelled().await;
            inner.close().await;
        });
        let (b1, st, persist, tok) = (
            b.clone(),
            store.clone(),
            config.core_data.persist_data,
            shutdown.clone(),
        );
        tasks.spawn(async move {
            if let Err(e) = data::ingest(b1, st, persist, tok).await {
                tracing::error!("core-data bus ingest stopped: {e}");
            }
        });
        let (b2, st, tok) = (b.clone(), store.clone(), shutdown.clone());
        tasks.spawn(async move {
            if let Err(e) = command::bus_proxy(b2, st, command_url, timeout, tok).await {
                tracing::error!("core-command bus proxy stopped: {e}");
            }
        });
    }
    tasks.spawn(data::retention(
        store.clone(),
        config.core_data.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(keeper::health_loop(store.clone(), shutdown.clone()));
    let core_bus = bus
        .as_ref()
        .map(|b| bridging::CoreBus::new(b, &config.message_bus, broker));
    let bridges = bridging::start(
        &config.bridges,
        core_bus.as_ref(),
        |name| config.secret(name),
        &shutdown,
        &mut tasks,
    );

    Ok(RunningCore {
        core_data,
        core_metadata,
        core_command,
        core_keeper,
        sma: sma_addr,
        broker,
        store,
        executor,
        bridges,
        shutdown,
        tasks,
    })
}
