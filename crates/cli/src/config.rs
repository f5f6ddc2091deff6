//! What every command that opens a database needs: the data key, the policies, the
//! store and the service; and logging.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use yikatong_core::clock::{Clock, SystemClock};
use yikatong_core::policy::PolicySet;
use yikatong_service::Service;
use yikatong_store::{DataKey, KeyError, Store};

/// Structured JSON logs on stderr; `RUST_LOG` filters (default `info`, or `warn` for
/// benchmarks, whose per-row log lines would be measured with them).
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Options shared by every command that opens a database.
#[derive(Args, Clone, Debug)]
pub struct DbArgs {
    /// SQLite file path or postgres:// URL.
    #[arg(long, default_value = "./yikatong.db")]
    pub db: String,
    /// File holding the 128-bit data-encryption key (32 hex characters); otherwise
    /// YKT_DATA_KEY is read.
    #[arg(long)]
    pub data_key_file: Option<PathBuf>,
    /// Directory of region policy files (*.toml) to use instead of the shipped ones.
    #[arg(long)]
    pub policies: Option<PathBuf>,
    /// Pooled database connections (default 16 on PostgreSQL, 8 on SQLite).
    #[arg(long)]
    pub db_pool_size: Option<u32>,
    /// Seconds a request waits for a pooled connection (and on SQLite for the write
    /// lock) before it is answered with an error.
    #[arg(long, default_value_t = 10)]
    pub db_wait_seconds: u64,
}

impl DbArgs {
    pub fn pool(&self) -> yikatong_store::PoolOptions {
        yikatong_store::PoolOptions { max_connections: self.db_pool_size, wait: std::time::Duration::from_secs(self.db_wait_seconds.max(1)) }
    }
}

pub fn data_key(file: Option<&PathBuf>) -> Result<DataKey, String> {
    let hex = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read the data key file {}: {e}", path.display()))?,
        None => std::env::var("YKT_DATA_KEY").map_err(|_| KeyError::Missing.to_string())?,
    };
    DataKey::from_hex(&hex).map_err(|e| e.to_string())
}

pub fn policies(dir: Option<&PathBuf>) -> Result<PolicySet, String> {
    let Some(dir) = dir else {
        return PolicySet::shipped().map_err(|e| e.to_string());
    };
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the policy directory {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    if files.is_empty() {
        return Err(format!("no *.toml policy files in {}", dir.display()));
    }
    PolicySet::from_files(files).map_err(|e| e.to_string())
}

pub async fn open_store(db: &str, key: DataKey, pool: yikatong_store::PoolOptions) -> Result<Arc<dyn Store>, String> {
    yikatong_store::open_with(db, key, pool).await.map_err(|e| e.to_string())
}

pub async fn service(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policies: PolicySet) -> Result<Arc<Service>, String> {
    Service::new(store, clock, policies).await.map(Arc::new).map_err(|e| e.to_string())
}

/// Opens the database of `args` with the system clock.
pub async fn open(args: &DbArgs) -> Result<Arc<Service>, String> {
    let key = data_key(args.data_key_file.as_ref())?;
    let policies = policies(args.policies.as_ref())?;
    let store = open_store(&args.db, key, args.pool()).await?;
    service(store, Arc::new(SystemClock), policies).await
}
