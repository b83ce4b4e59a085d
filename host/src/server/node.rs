//! Start-up of one server node, shared by the binary, the tests and the benches:
//! open and migrate the database, load the secret key, create the first-start
//! defaults and admin token, install the bundled plugins and load every plugin.

use std::path::PathBuf;

use tokio::net::TcpListener;

use crate::api::ApiSettings;
use crate::config::{Config, ConfigError};
use crate::db::{Db, DbError};
use crate::desk::{Actor, DeskError, DeskSettings, SecretBox, SystemDesk};
use crate::plugin::{PluginError, PluginHost, PluginHostSettings, ProtectedPaths};
use crate::worker::WorkerSettings;

/// Why a node could not start, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration (or an unreadable secret key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("{0}\nCheck --database-url / --data-dir and that the database server is running.")]
    Db(#[from] DbError),
    /// First-start defaults could not be written.
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// The plugin host could not start.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}. Pick another address with --listen.")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or creating the data directory or the secret key failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the first start of a data directory (or database) did.
#[derive(Debug, Default)]
pub struct FirstStart {
    /// The admin token, shown once; `None` on every later start.
    pub admin_token: Option<String>,
    /// `name version` of each bundled plugin installed.
    pub installed: Vec<String>,
    /// Bundled plugins that did not install, with the reason.
    pub failed: Vec<String>,
}

/// A node ready to serve: the core, the plugin host with every plugin loaded.
pub struct Node {
    /// The system's handle on the core over the migrated database (the API
    /// gets its actor-checked [`SystemDesk::desk`]).
    pub desk: SystemDesk,
    /// The plugin host.
    pub plugins: PluginHost,
    /// The validated configuration.
    pub config: Config,
    /// What the first start did (empty on later starts).
    pub first_start: FirstStart,
    /// Plugins loaded and ready.
    pub plugins_loaded: usize,
}

impl Node {
    /// Opens the database, seeds a fresh one (admin token, bundled plugins) and
    /// loads every installed plugin.
    pub async fn prepare(config: Config) -> Result<Node, StartError> {
        let desk = open_desk(&config).await?;
        let boot = desk.bootstrap().await?;
        let plugins = PluginHost::new(Some(desk.clone()), plugin_settings(&config, config.data_dir.join("plugin-cache")))?;
        let mut first_start = FirstStart::default();
        if let Some(token) = boot.admin_token {
            first_start.admin_token = Some(token);
            for (manifest, component) in crate::plugin::built::BUNDLED {
                match plugins.install(&Actor::System, component.to_vec(), manifest, None).await {
                    Ok(report) => first_start.installed.push(format!("{} {}", report.summary.name, report.summary.active_version)),
                    Err(err) => first_start.failed.push(err.to_string()),
                }
            }
        }
        let plugins_loaded = plugins.preload().await?;
        Ok(Node { desk, plugins, config, first_start, plugins_loaded })
    }

    /// Binds the configured listen address.
    pub async fn bind(&self) -> Result<TcpListener, StartError> {
        let addr = self.config.listen;
        TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
    }

    /// Serves the API and runs the job worker on `listener` until `shutdown`
    /// completes (see [`super::run`]).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let settings = ApiSettings { max_request_bytes: self.config.max_request_bytes, registries: Vec::new() };
        let worker = WorkerSettings {
            concurrency: self.config.job_concurrency,
            kind_concurrency: self.config.job_kind_concurrency.clone(),
            ..WorkerSettings::new(
                std::time::Duration::from_millis(self.config.job_poll_interval_ms),
                std::time::Duration::from_secs(self.config.job_lease_secs),
            )
        };
        super::run(self.desk, self.plugins, settings, worker, listener, shutdown).await?;
        Ok(())
    }
}

/// Prepares a node and serves it on `listener` until `shutdown`: the whole
/// `switchboard serve` without its terminal output.
pub async fn start(
    config: Config,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    Node::prepare(config).await?.serve(listener, shutdown).await
}

/// Plugin host settings from the configuration, caching compiled components in
/// `cache_dir`: the ceilings, and the data directory, SQLite file and secret key
/// that no directory grant may reach.
pub fn plugin_settings(config: &Config, cache_dir: PathBuf) -> PluginHostSettings {
    PluginHostSettings {
        cache_dir,
        require_signatures: config.require_signed_plugins,
        records_kept: 200,
        execution: config.plugin_execution,
        ceilings: config.plugin_ceilings.clone(),
        protected: ProtectedPaths {
            data_dir: Some(config.data_dir.clone()),
            database: crate::db::sqlite_path(&config.database_url).map(PathBuf::from),
            secret_key: Some(config.data_dir.join("secret.key")),
        },
    }
}

/// Opens and migrates the database and wraps it in the core (no seeding).
pub async fn open_desk(config: &Config) -> Result<SystemDesk, StartError> {
    let db = Db::connect(&config.database_url, config.sqlite_synchronous).await?;
    db.migrate().await?;
    let secrets = Some(SecretBox::new(&secret_key(config)?));
    Ok(SystemDesk::new(
        db,
        DeskSettings {
            system_id: config.system_id,
            default_queue: config.default_queue.clone(),
            secrets,
            customer: config.customer.clone(),
            max_article_bytes: config.max_article_bytes,
        },
    ))
}

/// The key that encrypts secrets at rest: `SWITCHBOARD_SECRET_KEY` (64 hex
/// digits; give every node of a cluster the same) or `secret.key` in the data
/// directory, created with mode 0600 on first use.
fn secret_key(config: &Config) -> Result<[u8; 32], StartError> {
    let parse = |text: &str, origin: &str| -> Result<[u8; 32], StartError> {
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
        let bytes = bytes.ok_or_else(|| ConfigError(format!("{origin}: the secret key must be 64 hex digits")))?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(key)
    };
    if let Ok(text) = std::env::var("SWITCHBOARD_SECRET_KEY") {
        return parse(&text, "SWITCHBOARD_SECRET_KEY");
    }
    let path = config.data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path.display().to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&config.data_dir)?;
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            std::io::Write::write_all(&mut file, hex::encode(key).as_bytes())?;
            Ok(key)
        }
        Err(err) => Err(err.into()),
    }
}
