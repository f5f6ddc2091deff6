//! `ykt serve`: the service on one listener.

use std::sync::Arc;

use clap::Args;
use yikatong_core::clock::{Clock, SystemClock, TestClock};
use yikatong_http::AppState;
use yikatong_service::Service;

use crate::config::{self, DbArgs};

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Expose PUT /v1/test/clock so that black-box tests can travel in time.
    #[arg(long)]
    pub test_clock: bool,
    /// How long an `Idempotency-Key`'s answer is kept, in hours (a national msgid is
    /// kept for ever).
    #[arg(long, default_value_t = yikatong_service::DEFAULT_IDEMPOTENCY_RETENTION_HOURS)]
    pub idempotency_hours: i64,
    /// The folder of the audit chain's checkpoints (default: beside the SQLite file, or
    /// ./yikatong-checkpoints for PostgreSQL); keep it off the database's machine.
    #[arg(long)]
    pub checkpoints: Option<std::path::PathBuf>,
    /// Minutes between two checkpoints (one is also written when the service stops).
    #[arg(long, default_value_t = 10)]
    pub checkpoint_minutes: u64,
    /// A portal session ends after this many minutes without a request.
    #[arg(long, default_value_t = 15)]
    pub session_idle_minutes: i64,
    /// A portal session ends this many hours after sign-in, however busy.
    #[arg(long, default_value_t = 8)]
    pub session_hours: i64,
    /// A one-time sign-in code sent to a holder's phone is valid this many minutes.
    #[arg(long, default_value_t = 5)]
    pub sign_in_code_minutes: i64,
    /// The NATS server (JetStream) the card notices are delivered to (R-EVT-1), e.g.
    /// nats://127.0.0.1:4222; without it nothing leaves the database.
    #[arg(long)]
    pub nats: Option<String>,
    /// Serve one region only (its file's code, `beijing`, or a division code it covers,
    /// `110000`): the national interface answers that region's institutions and the
    /// holders it insures, and refuses other calls with the reason (R-XREG-1). Without
    /// it one deployment serves every region and the envelope's codes are not checked.
    #[arg(long)]
    pub region: Option<String>,
    /// Copies of the notices' stream in a NATS cluster (when the relay makes it).
    #[arg(long, default_value_t = 1)]
    pub nats_replicas: usize,
    /// With `--region` and `--nats`: how long a call to a holder's insured region waits
    /// for its answer before the hospital is told it did not come (R-XREG-4).
    #[arg(long, default_value_t = 3000)]
    pub region_call_timeout_ms: u64,
}

impl ServeArgs {
    /// The session and sign-in code lifetimes these options name.
    pub fn session_rules(&self) -> yikatong_service::SessionRules {
        let defaults = yikatong_service::SessionRules::default();
        yikatong_service::SessionRules {
            idle: chrono::Duration::minutes(self.session_idle_minutes.max(1)),
            lifetime: chrono::Duration::hours(self.session_hours.max(1)),
            code_valid: chrono::Duration::minutes(self.sign_in_code_minutes.max(1)),
            ..defaults
        }
    }
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let key = config::data_key(args.db.data_key_file.as_ref())?;
    let policies = config::policies(args.db.policies.as_ref())?;
    let store = config::open_store(&args.db.db, key, args.db.pool()).await?;
    let (clock, test_clock): (Arc<dyn Clock>, Option<TestClock>) = if args.test_clock {
        let c = TestClock::new(chrono::Utc::now());
        (Arc::new(c.clone()), Some(c))
    } else {
        (Arc::new(SystemClock), None)
    };
    let service = config::service(store, clock, policies).await?;
    let checkpoints = args.checkpoints.clone().unwrap_or_else(|| yikatong_service::default_checkpoints(&args.db.db));
    let service = Arc::into_inner(service).ok_or("the service is shared before it serves")?;
    let service = match &args.region {
        Some(region) => service.with_region(region).map_err(|e| format!("--region: {e}"))?,
        None => service,
    };
    let service =
        service.with_idempotency_retention(chrono::Duration::hours(args.idempotency_hours.max(1))).with_checkpoints(checkpoints.clone()).with_session_rules(args.session_rules());
    let mut background = Vec::new();
    let service = match &args.nats {
        None => Arc::new(service),
        Some(url) => {
            let (client, js) = yikatong_events::connect(url).await?;
            let mut service = service.with_broker(Arc::new(yikatong_events::broker::NatsBroker { js: js.clone() }));
            // A deployment of one region settles the other regions' holders through
            // their deployments, and answers theirs (R-XREG-2).
            let region = service.served_region().map(str::to_string);
            if region.is_some() {
                let timeout = std::time::Duration::from_millis(args.region_call_timeout_ms.max(1));
                service = service.with_region_link(Arc::new(yikatong_events::regions::NatsRegionLink::new(client.clone(), timeout)));
            }
            let service = Arc::new(service);
            if let Some(region) = region {
                // Listening before serving: a region's call made once it serves is answered.
                let calls = yikatong_events::regions::listen_for_calls(&client, &region).await?;
                background.push(tokio::spawn(yikatong_events::regions::answer_calls(client.clone(), service.clone(), calls)));
            }
            let relay = yikatong_events::relay::Relay::new(service.clone(), js, args.nats_replicas, yikatong_events::relay::Pace::default());
            tracing::info!(nats = %url, "delivering card notices");
            background.push(tokio::spawn(relay.run()));
            service
        }
    };
    let periodic = {
        let (service, every) = (service.clone(), std::time::Duration::from_secs(args.checkpoint_minutes.max(1) * 60));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Some(dir) = service.checkpoints()
                    && let Err(e) = service.write_checkpoint(dir).await
                {
                    tracing::error!(error = %e, "could not write an audit checkpoint");
                }
            }
        })
    };
    let served = listen_and_serve(service.clone(), test_clock, &args.listen, |url| println!("Yikatong is serving on {url}")).await;
    periodic.abort();
    for task in background {
        task.abort();
    }
    // A last checkpoint when the service stops.
    if let Err(e) = service.write_checkpoint(&checkpoints).await {
        tracing::error!(error = %e, "could not write the audit checkpoint at shutdown");
    }
    served
}

/// Binds `listen`, announces the URL, and serves until Ctrl-C.
pub async fn listen_and_serve(service: Arc<Service>, test_clock: Option<TestClock>, listen: &str, announce: impl FnOnce(&str)) -> Result<(), String> {
    // Nothing is left half-done by the last stop: interrupted jobs are marked so,
    // claims without an answer are released.
    service.recover_interrupted_work().await.map_err(|e| format!("cannot recover the work the last stop interrupted: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The handler for Ctrl-C is in place before anyone learns the address: a signal
    // sent as soon as the service answers stops it gracefully, never by default.
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    let backend = service.check_database().await.map_err(|e| format!("the database does not answer: {e}"))?;
    tracing::info!(%addr, backend, "serving");
    announce(&format!("http://{addr}"));
    let state = AppState::new(service, test_clock);
    let shutdown = async move {
        #[cfg(unix)]
        interrupt.recv().await;
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    yikatong_http::serve(listener, state, shutdown).await.map_err(|e| format!("the server stopped: {e}"))
}
