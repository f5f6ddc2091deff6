//! `ykt admin …`, `ykt policy …` and `ykt calendar …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use yikatong_service::TokenRequest;

use crate::config::{self, DbArgs};

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Print a new bearer token bound to a role.
    Token(TokenArgs),
    /// List issued tokens (without their secrets).
    Tokens(DbArgs),
    /// Issue a gateway credential for an institution's HIS: prints `paasid=…` and
    /// `secret=…` (shown once). With `--list`, lists them; with `--revoke ID`, revokes one.
    HisCredential {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, required_unless_present_any = ["list", "revoke"])]
        institution: Option<String>,
        #[arg(long)]
        list: bool,
        #[arg(long)]
        revoke: Option<i64>,
    },
    /// Revoke a token by its id; it stops working at once.
    RevokeToken {
        #[command(flatten)]
        db: DbArgs,
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// operator, clerk, unit, institution, holder, hotline, kiosk, bank or vendor.
    #[arg(long)]
    pub role: String,
    #[arg(long)]
    pub outlet: Option<String>,
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long)]
    pub institution: Option<String>,
    /// The holder's SSN (holder tokens).
    #[arg(long)]
    pub person: Option<String>,
    /// The bank (bank tokens; a partner bank names itself to take units' batches).
    #[arg(long)]
    pub bank: Option<String>,
    /// A note on who holds the token.
    #[arg(long)]
    pub label: Option<String>,
}

pub async fn run_admin(cmd: AdminCommand) -> Result<(), String> {
    match cmd {
        AdminCommand::Token(a) => {
            let service = config::open(&a.db).await?;
            let req = TokenRequest { role: a.role, outlet: a.outlet, unit: a.unit, institution: a.institution, person: a.person, bank: a.bank, label: a.label };
            let t = service.issue_token(&req).await.map_err(|e| e.to_string())?;
            eprintln!("token {} for role {} (shown once; store it safely)", t.id, t.role);
            println!("{}", t.token);
            Ok(())
        }
        AdminCommand::Tokens(db) => {
            let service = config::open(&db).await?;
            for t in service.list_tokens().await.map_err(|e| e.to_string())? {
                let bound = [t.grant.outlet, t.grant.unit, t.grant.institution].into_iter().flatten().collect::<Vec<_>>().join(",");
                let state = t.revoked_at.map_or_else(|| "active".into(), |r| format!("revoked {r}"));
                println!("{:>5}  {:<12} {:<10} {:<24} {}  {}", t.id, t.grant.role.as_str(), bound, state, t.created_at, t.grant.label);
            }
            Ok(())
        }
        AdminCommand::HisCredential { db, institution, list, revoke } => {
            let service = config::open(&db).await?;
            let op = local(yikatong_core::access::Role::Operator);
            if let Some(id) = revoke {
                service.revoke_his_credential(&op, id).await.map_err(|e| e.to_string())?;
                println!("gateway credential {id} revoked");
            } else if list {
                for c in service.his_credentials(&op).await.map_err(|e| e.to_string())? {
                    let state = c.revoked_at.map_or_else(|| "active".into(), |r| format!("revoked {r}"));
                    println!("{}	{}	{}	{}	{state}", c.id, c.institution, c.paasid, c.created_at);
                }
            } else {
                let c = service.issue_his_credential(&op, institution.as_deref().unwrap_or_default()).await.map_err(|e| e.to_string())?;
                eprintln!("gateway credential {} for institution {} (the secret is shown once; give both to the institution's HIS)", c.id, c.institution);
                println!("paasid={}", c.paasid);
                println!("secret={}", c.secret);
            }
            Ok(())
        }
        AdminCommand::RevokeToken { db, id } => {
            let service = config::open(&db).await?;
            service.revoke_token(id).await.map_err(|e| e.to_string())?;
            println!("token {id} revoked");
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// The parameters in force on a date.
    Show {
        region: String,
        /// YYYY-MM-DD (today in Asia/Shanghai if absent).
        #[arg(long)]
        at: Option<String>,
        /// Print JSON (as GET /v1/policies/{region}) instead of text.
        #[arg(long)]
        json: bool,
        /// Directory of region files instead of the shipped ones.
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Check region files strictly and report the first problem with file and line.
    Check { files: Vec<PathBuf> },
}

pub fn run_policy(cmd: PolicyCommand) -> Result<(), String> {
    match cmd {
        PolicyCommand::Show { region, at, json, policies } => {
            let set = config::policies(policies.as_ref())?;
            let at = match at {
                Some(a) => a.parse().map_err(|_| format!("--at must be a date like 2024-03-01, not {a:?}"))?,
                None => yikatong_core::clock::Clock::today(&yikatong_core::clock::SystemClock),
            };
            let view = yikatong_service::policy_view(&set, &region, at).map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&view).map_err(|e| e.to_string())?);
            } else {
                print!("{}", view.to_text());
            }
            Ok(())
        }
        PolicyCommand::Check { files } => {
            for f in &files {
                let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
                let r = yikatong_core::policy::parse_region(&f.display().to_string(), &text).map_err(|e| e.to_string())?;
                println!("{}: {} ({}) with {} parameters — ok", f.display(), r.name, r.code, r.parameters.len());
            }
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Load (or replace) one year of the official calendar from a file.
    Load {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The loaded years.
    Show(DbArgs),
}

pub async fn run_calendar(cmd: CalendarCommand) -> Result<(), String> {
    match cmd {
        CalendarCommand::Load { file, db } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let service = config::open(&db).await?;
            let y = service.load_calendar_year(None, &file.display().to_string(), &text).await.map_err(|e| e.to_string())?;
            println!("calendar {} loaded: {} holidays, {} adjusted workdays ({})", y.year, y.holidays.len(), y.workdays.len(), y.source);
            Ok(())
        }
        CalendarCommand::Show(db) => {
            let service = config::open(&db).await?;
            for (year, source) in service.calendar_years().map_err(|e| e.to_string())? {
                println!("{year}  {source}");
            }
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute every card's keyed history and its state from its events, and compare
    /// the chains with the newest checkpoint; any edited, removed or added event, or a
    /// state its events do not make, is reported and the command fails.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// The checkpoints' folder (default: beside the SQLite file, or
        /// ./yikatong-checkpoints for PostgreSQL).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Write a checkpoint of every chain's head now (the service writes one
    /// periodically and when it stops).
    Checkpoint {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
}

pub async fn run_audit(cmd: AuditCommand) -> Result<(), String> {
    match cmd {
        AuditCommand::Verify { db, checkpoints } => {
            let service = config::open(&db).await?;
            let dir = checkpoints.unwrap_or_else(|| yikatong_service::default_checkpoints(&db.db));
            let report = service.audit_database(Some(&dir)).await.map_err(|e| e.to_string())?;
            for p in &report.problems {
                println!("PROBLEM  {p}");
            }
            let checkpoint = report.checkpoint.as_deref().map_or_else(|| format!(", no checkpoint in {} yet", dir.display()), |c| format!(", checkpoint {c}"));
            println!("audit: {} cards, {} events checked{checkpoint}, {} problems", report.cards, report.events, report.problems.len());
            if report.problems.is_empty() { Ok(()) } else { Err("the audit trail has been tampered with".into()) }
        }
        AuditCommand::Checkpoint { db, checkpoints } => {
            let service = config::open(&db).await?;
            let dir = checkpoints.unwrap_or_else(|| yikatong_service::default_checkpoints(&db.db));
            let path = service.write_checkpoint(&dir).await.map_err(|e| e.to_string())?;
            println!("checkpoint written: {}", path.display());
            Ok(())
        }
    }
}

/// `ykt verify`: each invariant with its count of violations; warnings are printed but
/// do not change the exit status.
pub async fn run_verify(db: DbArgs) -> Result<(), String> {
    let service = config::open(&db).await?;
    let report = service.verify_database().await.map_err(|e| e.to_string())?;
    for i in &report.invariants {
        let mark = if i.violations == 0 { "ok  " } else { "FAIL" };
        println!("{mark} {:>9} checked {:>6} violations  {}  ({})", i.checked, i.violations, i.name, i.enforced_by);
        for e in &i.examples {
            println!("       - {e}");
        }
    }
    for w in &report.warnings {
        println!("WARNING  {w}");
    }
    println!("verify: {} invariants on {}, {} violations", report.invariants.len(), report.backend, report.violations);
    if report.violations == 0 { Ok(()) } else { Err(format!("{} invariant violations", report.violations)) }
}

/// `ykt clearing`: the month's statement per pair of regions (R-XREG-3).
#[derive(clap::Args, Debug)]
pub struct ClearingArgs {
    /// The month, `2026-03` (business time, Asia/Shanghai).
    #[arg(long)]
    pub month: String,
    #[command(flatten)]
    pub db: DbArgs,
}

pub async fn run_clearing(args: ClearingArgs) -> Result<(), String> {
    let service = config::open(&args.db).await?;
    let statements = service.clearing(&args.month).await.map_err(|e| e.to_string())?;
    println!("clearing {} (business time, Asia/Shanghai) from this database's own records; amounts in yuan", args.month);
    if statements.is_empty() {
        println!("no settlement across regions was booked or reversed in the month");
    }
    for (s, side) in &statements {
        let side = match side {
            yikatong_core::settlement::Side::Care => " (this region cares)",
            yikatong_core::settlement::Side::Insured => " (this region insures)",
        };
        println!("pair {} {} -> {} {}{side}", s.care_admdvs, service.region_name(&s.care_admdvs), s.insured_admdvs, service.region_name(&s.insured_admdvs));
        for (label, sums) in [("settled", s.settled), ("reversed", s.reversed), ("net", s.net())] {
            println!(
                "  {label:<9} count {:>6}  total {:>12}  fund {:>12}  account {:>10}  cash {:>12}  claimed {:>12}",
                sums.count,
                sums.total,
                sums.fund,
                sums.account,
                sums.cash,
                sums.claimed()
            );
        }
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Import a catalogue CSV (columns code/编码, name/名称, kind/类别, class/等级,
    /// price_ceiling_fen/限价分); each bad row is reported with its line, the others are kept.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run_catalog(cmd: CatalogCommand) -> Result<(), String> {
    match cmd {
        CatalogCommand::Import { file, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_catalog_csv(input).await.map_err(|e| e.to_string())?;
            for r in &report.refused {
                println!("line {}: {} ({})", r.line, r.reason, r.code);
            }
            println!("catalogue: {} rows accepted, {} refused", report.accepted, report.refused.len());
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// A unit's batch application file (CSV in UTF-8 or GBK; columns ssn/公民身份号码,
    /// name/姓名, phone/联系电话, financial/金融卡). Bad rows are reported by line; sending
    /// the file again creates nothing twice.
    Applications {
        file: PathBuf,
        #[arg(long)]
        unit: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The insured population from the insurance system's extract (CSV in UTF-8 or GBK,
    /// or XLSX; columns ssn/公民身份号码, name/姓名, ethnicity/民族, category/人员类别,
    /// unit_code/单位编号, phone/联系电话). Bad rows are reported by line; sending the
    /// file again creates nothing twice; progress on stderr.
    Persons {
        file: PathBuf,
        #[arg(long)]
        region: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The card factory's result file for a batch (card_id, card_number,
    /// card_identification_code, failed).
    ProductionResults {
        file: PathBuf,
        #[arg(long)]
        batch: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The bank's account-opening result file (card_id, opened 是/否, reason).
    BankResults {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The bank's premium withholding result file (ssn, period, amount_fen, result
    /// 成功/失败, reason).
    Withholding {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The population registry extract (ssn, name, gender, ethnicity, birth_date,
    /// photo_digest) for the comparison.
    Registry {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The province's card register (ssn/公民身份号码, city/发卡地 — the issuing city's
    /// division code —, state/卡状态 正常 or not): a production cut leaves out people with
    /// a working card of another city of the province (R-APP-4).
    ProvinceCards {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// A production batch's personalisation file for the card factory (CSV on stdout).
    Personalisation {
        #[arg(long)]
        batch: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run_export(cmd: ExportCommand) -> Result<(), String> {
    match cmd {
        ExportCommand::Personalisation { batch, db } => {
            let service = config::open(&db).await?;
            print!("{}", service.personalisation_file(&local(yikatong_core::access::Role::Operator), batch).await.map_err(|e| e.to_string())?);
            Ok(())
        }
    }
}

/// The bureau's own command line, run where the database and its key are, acts in the
/// role a file comes from (an operator, or the factory or bank whose file it loads);
/// its events are recorded with token 0.
fn local(role: yikatong_core::access::Role) -> yikatong_core::access::Principal {
    yikatong_core::access::Principal { token_id: 0, role, outlet: None, unit: None, institution: None, person_hash: None, unlocked: None }
}

/// A file read line by line (any size in bounded memory).
fn open_file(path: &std::path::Path) -> Result<std::io::BufReader<std::fs::File>, String> {
    std::fs::File::open(path).map(std::io::BufReader::new).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn print_file_report(what: &str, r: &yikatong_service::batch::FileReport) {
    for x in &r.refused {
        println!("line {}: {} ({})", x.line, x.reason, x.code);
    }
    println!("{what}: {} rows, {} accepted, {} refused", r.rows, r.accepted, r.refused.len());
}

pub async fn run_import(cmd: ImportCommand) -> Result<(), String> {
    match cmd {
        ImportCommand::ProductionResults { file, batch, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_production_results(&local(yikatong_core::access::Role::Vendor), batch, input).await.map_err(|e| e.to_string())?;
            print_file_report("production results", &report);
            Ok(())
        }
        ImportCommand::Withholding { file, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_withholding(input).await.map_err(|e| e.to_string())?;
            print_file_report("withholding results", &report);
            Ok(())
        }
        ImportCommand::Registry { file, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_registry(input).await.map_err(|e| e.to_string())?;
            print_file_report("registry extract", &report);
            Ok(())
        }
        ImportCommand::ProvinceCards { file, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_province_cards(input).await.map_err(|e| e.to_string())?;
            print_file_report("province card register", &report);
            Ok(())
        }
        ImportCommand::BankResults { file, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_bank_results(&local(yikatong_core::access::Role::Bank), input).await.map_err(|e| e.to_string())?;
            print_file_report("bank results", &report);
            Ok(())
        }
        ImportCommand::Persons { file, region, db } => {
            let size = std::fs::metadata(&file).map_or(0, |m| m.len());
            let (input, read) = crate::progress::counted(std::fs::File::open(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?);
            let service = config::open(&db).await?;
            let bar = crate::progress::Progress::new("persons");
            let progress = |_rows: usize| bar.update(read.load(std::sync::atomic::Ordering::Relaxed), size);
            let report = service.import_persons(&local(yikatong_core::access::Role::Operator), &region, input, &progress).await.map_err(|e| e.to_string())?;
            bar.finish();
            for r in &report.refused {
                println!("line {}: {} {} ({})", r.line, r.ssn, r.reason, r.code);
            }
            println!(
                "persons of {} ({}): {} rows, {} accepted, {} already present, {} refused",
                report.region,
                report.encoding,
                report.rows,
                report.accepted,
                report.already_present,
                report.refused.len()
            );
            Ok(())
        }
        ImportCommand::Applications { file, unit, db } => {
            let input = open_file(&file)?;
            let service = config::open(&db).await?;
            let report = service.import_applications(&local(yikatong_core::access::Role::Operator), &unit, input).await.map_err(|e| e.to_string())?;
            for r in &report.refused {
                println!("line {}: {} {} ({})", r.line, r.ssn, r.reason, r.code);
            }
            println!(
                "applications for unit {} ({}): {} rows, {} accepted, {} already applied, {} refused",
                report.unit,
                report.encoding,
                report.rows,
                report.accepted,
                report.already_applied,
                report.refused.len()
            );
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum BatchCommand {
    /// Compare every person's six items with the registry extract (R-CMP-1..3); people
    /// with any × or 无 are held out of production until a second collection.
    Compare(DbArgs),
    /// Credit every eligible personal account for a month (R-ACC-1), at most once per
    /// person and month; a run that was stopped is simply started again.
    CreditAccounts {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run_batch(cmd: BatchCommand) -> Result<(), String> {
    match cmd {
        BatchCommand::Compare(db) => {
            let service = config::open(&db).await?;
            let bar = crate::progress::Progress::new("compare");
            let report = service.compare_all(&|done, total| bar.update(done, total)).await.map_err(|e| e.to_string())?;
            bar.finish();
            println!("comparison: {} persons, {} matched, {} held for second collection, {} out of scope", report.persons, report.matched, report.held, report.out_of_scope);
            Ok(())
        }
        BatchCommand::CreditAccounts { month, db } => {
            let service = config::open(&db).await?;
            let bar = crate::progress::Progress::new("credit-accounts");
            let report = service.credit_accounts(&month, yikatong_service::batch::credits::PAGE, None, &|done, total| bar.update(done, total)).await.map_err(|e| e.to_string())?;
            bar.finish();
            for f in &report.failures {
                println!("{}: {} ({})", f.ssn_masked, f.reason, f.code);
            }
            println!(
                "credits {}: {} persons, {} credited ({} yuan), {} already credited, {} without an account, {} failed",
                report.month,
                report.persons,
                report.credited,
                yikatong_core::money::Fen(report.credited_fen),
                report.already_credited,
                report.not_eligible,
                report.failed
            );
            Ok(())
        }
    }
}
