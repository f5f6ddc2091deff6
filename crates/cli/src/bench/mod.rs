//! `ykt bench …`: each benchmark prints its figure beside a baseline measured in the
//! same run on the same database. Benchmarks report; they never fail because the
//! machine is slow.

mod baselines;
mod card_life;
mod city;
mod cross_region;
mod events;
mod fixtures;
mod portal;
mod registry;
mod settle;
mod upload;

use clap::Subcommand;

use fixtures::compare_on_backends;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Persons created through the HTTP API per second, on SQLite and PostgreSQL,
    /// beside single-row INSERT transactions of the same rows straight into the same
    /// database.
    Registry {
        /// Persons to create per backend.
        #[arg(long, default_value_t = 5000)]
        count: usize,
        /// Concurrent clients (and baseline connections).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// PostgreSQL server for the run (a fresh schema is made and dropped).
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Only these backends (sqlite, postgres); both by default.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// Card notices per second from the counter through the relay and JetStream to the
    /// transit blocklist, and the latency from a pre-loss at the counter to the
    /// blocklist (p50, p99), beside the broker's own rate on the same server (a
    /// nats-server of the benchmark's own).
    Events {
        /// Pre-loss / revoke pairs (two notices each).
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// Pre-losses timed one by one from the counter to the blocklist.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Concurrent clerks.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Backends to run (sqlite, postgres).
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// Pre-loss / revoke pairs through the HTTP API per second, beside the equivalent
    /// raw SQL transactions (lock the card row, insert an event, update the state).
    CardLife {
        /// Pre-loss / revoke pairs per backend.
        #[arg(long, default_value_t = 2000)]
        pairs: usize,
        /// Concurrent clerks (each works on cards of its own).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Backends to run (sqlite, postgres); PostgreSQL by default.
        #[arg(long, value_delimiter = ',', default_value = "postgres")]
        backends: Vec<String>,
    },
    /// Full outpatient visits (1101, 2201, 2204 with 5 lines, 2206, 2207) through the
    /// national interface with concurrent cashiers, beside pgbench's TPC-B-like script
    /// with the same client count on the same PostgreSQL server.
    Settle {
        /// Visits per cashier.
        #[arg(long, default_value_t = 100)]
        visits: usize,
        /// Concurrent cashiers (and pgbench clients).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds pgbench runs.
        #[arg(long, default_value_t = 10)]
        pgbench_seconds: u32,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
    },
    /// A synthetic city through the bureau's batch work (application files, registry
    /// extract and comparison, a production batch, the month's credits), each step
    /// beside the same rows loaded with COPY (PostgreSQL) or INSERT … SELECT (SQLite).
    City {
        /// Persons in the city.
        #[arg(long, default_value_t = 1_000_000)]
        persons: usize,
        /// Cards in the production batch cut.
        #[arg(long, default_value_t = 100_000)]
        batch: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Backends to run (sqlite, postgres).
        #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
        backends: Vec<String>,
    },
    /// The portal's main pages with a unit of 10,000 persons: p50 and p99 per page
    /// beside `/healthz` on the same server.
    Portal {
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        /// Requests per page.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// A unit's application file of a city's size (1,000,000 rows, about 40 MB) through
    /// the HTTP API beside the command line's path, on the same database.
    Upload {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// 2207 for a Beijing holder at a Hebei institution (two deployments linked over
    /// NATS, R-XREG-2): rate, p50 and p99 beside the same-region 2207 in the same run.
    CrossRegion {
        /// Visits per cashier, in each region.
        #[arg(long, default_value_t = 100)]
        visits: usize,
        /// Concurrent cashiers.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// The pure settlement engine: receipts per second on one core.
    SettleEngine {
        #[arg(long, default_value_t = 1_000_000)]
        receipts: usize,
    },
}

pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Registry { count, concurrency, postgres, backends } => {
            println!("ykt bench registry: {count} persons per backend, {concurrency} concurrent clients");
            compare_on_backends("req", &backends, Some("single-row INSERT transactions of the same rows into an empty copy of the persons table"), |b| {
                registry::once(b, &postgres, count, concurrency)
            })
            .await
        }
        BenchCommand::CardLife { pairs, concurrency, postgres, backends } => {
            println!("ykt bench card-life: {pairs} pre-loss / revoke pairs per backend, {concurrency} concurrent clerks");
            compare_on_backends("ops", &backends, Some("BEGIN; SELECT … FOR UPDATE; INSERT event; UPDATE state; COMMIT on a scratch copy of the same card rows"), |b| {
                card_life::once(b, &postgres, pairs, concurrency)
            })
            .await
        }
        BenchCommand::Events { pairs, samples, concurrency, postgres, backends } => events::run(pairs, samples, concurrency, &backends, &postgres).await,
        BenchCommand::Settle { visits, concurrency, pgbench_seconds, postgres } => settle::run(visits, concurrency, pgbench_seconds, &postgres).await,
        BenchCommand::SettleEngine { receipts } => settle::engine(receipts),
        BenchCommand::CrossRegion { visits, concurrency, postgres, backends } => cross_region::run(visits, concurrency, &backends, &postgres).await,
        BenchCommand::City { persons, batch, postgres, backends } => city::run(persons, batch, &backends, &postgres).await,
        BenchCommand::Portal { persons, requests, postgres, backends } => portal::run(persons, requests, &backends, &postgres).await,
        BenchCommand::Upload { rows, postgres, backends } => upload::run(rows, &backends, &postgres).await,
    }
}
