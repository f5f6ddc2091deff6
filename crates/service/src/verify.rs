//! `ykt verify` and `GET /v1/verify`: every invariant the bureau relies on, recomputed
//! over a whole database and reported with its count of violations (TigerBeetle's
//! habit of checking what must hold, not trusting that it does). Each invariant names
//! what enforces it while the service runs; this is the second line, run nightly and
//! at the end of every crash test.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::account::EntryKind;
use yikatong_core::card::events::projection_mismatch;
use yikatong_core::money::Fen;
use yikatong_core::settlement::{CrossRegion, Receipt, SettlementKind, SettlementState, YearTotals};

use crate::{Service, ServiceError, ServiceResult};

/// How many rows a page of a whole-table read holds.
const PAGE: i64 = 2_000;
/// How many examples of violations an invariant names.
const EXAMPLES: usize = 5;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvariantCheck {
    pub name: &'static str,
    /// What keeps it while the service runs.
    pub enforced_by: &'static str,
    pub checked: u64,
    pub violations: u64,
    /// The first few violations, in words.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub backend: &'static str,
    pub invariants: Vec<InvariantCheck>,
    /// Things an operator should act on that break no invariant (a calendar year not
    /// loaded yet …); they do not change the exit status.
    pub warnings: Vec<String>,
    pub violations: u64,
}

impl InvariantCheck {
    fn new(name: &'static str, enforced_by: &'static str) -> InvariantCheck {
        InvariantCheck { name, enforced_by, checked: 0, violations: 0, examples: Vec::new() }
    }

    fn violated(&mut self, what: impl FnOnce() -> String) {
        self.violations += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(what());
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("stored data unreadable: {e}"))
}

/// Why a stored card is not the projection of its events (its row's state column, its
/// record, or its events that cannot be read), if it is not.
pub(crate) fn projection_problem(card: &yikatong_core::card::Card, state_column: &str, events: &Result<Vec<yikatong_core::card::CardEvent>, String>) -> Option<String> {
    let events = match events {
        Ok(events) => events,
        Err(e) => return Some(format!("card {}: its events cannot be read ({e})", card.id)),
    };
    if state_column != card.state.as_str() {
        return Some(format!("card {}: its row says {state_column}, its record {}", card.id, card.state.as_str()));
    }
    projection_mismatch(card, events).map(|m| format!("card {}: {m}", card.id))
}

/// A hash shortened for a report line (it is a keyed hash, not the ID number).
fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

impl Service {
    /// The whole report (operator).
    pub async fn verify(&self, who: &Principal) -> ServiceResult<VerifyReport> {
        who.allow(Operation::VerifyDatabase)?;
        self.verify_database().await
    }

    /// The whole report, without a caller (the command line).
    pub async fn verify_database(&self) -> ServiceResult<VerifyReport> {
        let mut invariants = Vec::new();
        let receipts = self.verify_settlements(&mut invariants).await?;
        self.verify_fee_lines(&receipts, &mut invariants).await?;
        self.verify_cards(&mut invariants).await?;
        let audit = self.store.verify_audit().await?;
        let mut chain = InvariantCheck::new("every card's event chain verifies (SM3, per card)", "append-only triggers on card_events; the chain head on the card row");
        chain.checked = audit.cards;
        for p in audit.problems {
            chain.violated(|| p);
        }
        invariants.push(chain);
        let violations = invariants.iter().map(|i| i.violations).sum();
        Ok(VerifyReport { backend: self.store.backend(), invariants, warnings: self.operator_warnings(), violations })
    }

    /// Settlements, year totals and the ledger; returns each live settlement's billed
    /// line numbers for the fee-line check.
    async fn verify_settlements(&self, out: &mut Vec<InvariantCheck>) -> ServiceResult<HashMap<String, (String, HashSet<String>)>> {
        let mut one_live = InvariantCheck::new("one live settlement of a kind per visit", "the visit's row lock in 2207; unique index settlements_live_per_visit");
        for (visit, n) in self.store.duplicate_live_settlements().await? {
            one_live.violated(|| format!("visit {visit} has {n} live settlements"));
        }
        let mut identities = InvariantCheck::new("every receipt adds up (total = fund + personal burden, R-SET-3)", "Receipt::check_identities before every booking");
        let mut totals_from_receipts: HashMap<(String, i64), YearTotals> = HashMap::new();
        let mut expected_ledger: HashMap<(String, EntryKind), i64> = HashMap::new();
        let mut billed: HashMap<String, (String, HashSet<String>)> = HashMap::new();
        // R-SET-6: what each live manual settlement leaves the funds to reimburse.
        let mut reimbursable: HashMap<String, i64> = HashMap::new();
        let mut after = String::new();
        loop {
            let page = self.store.settlements_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.setl_id);
            for s in page {
                identities.checked += 1;
                let receipt: Receipt = serde_json::from_value(s.receipt.clone()).map_err(corrupt)?;
                if let Err(e) = receipt.check_identities() {
                    identities.violated(|| format!("settlement {}: {e}", s.setl_id));
                }
                // The care region's copy of a cross-region settlement is booked against the
                // holder in their own region (R-XREG-2): its totals and ledger are there.
                let books_holder = s.cross_region.as_ref().is_none_or(CrossRegion::books_the_holder);
                if s.state == SettlementState::Settled && books_holder {
                    let t = totals_from_receipts.entry((s.person_hash.clone(), s.year)).or_default();
                    *t = t.plus(&receipt);
                }
                if s.state == SettlementState::Settled {
                    billed.insert(s.setl_id.clone(), (s.mdtrt_id.clone(), receipt.lines.iter().map(|l| l.sn.clone()).collect()));
                    if s.kind == SettlementKind::Manual {
                        reimbursable.insert(s.setl_id.clone(), receipt.fund_pay_sumamt.0);
                    }
                }
                // The person's own account and, for a family member, the holder's.
                let from_accounts = receipt.acct_pay.0 + receipt.acct_mulaid_pay.0;
                if from_accounts > 0 && books_holder {
                    *expected_ledger.entry((s.setl_id.clone(), EntryKind::Settlement)).or_default() -= from_accounts;
                    if s.state == SettlementState::Reversed {
                        *expected_ledger.entry((s.setl_id.clone(), EntryKind::Reversal)).or_default() += from_accounts;
                    }
                }
            }
        }
        one_live.checked = identities.checked;
        out.push(one_live);
        out.push(identities);

        let mut totals =
            InvariantCheck::new("each person's year totals equal that year's receipts less reversals", "the person's row and year totals locked by every booking and reversal");
        let mut after = (String::new(), i64::MIN);
        loop {
            let page = self.store.year_totals_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = (last.0.clone(), last.1);
            for (person, year, stored) in page {
                totals.checked += 1;
                let computed = totals_from_receipts.remove(&(person.clone(), year)).unwrap_or_default();
                if computed != stored {
                    totals.violated(|| format!("person {} in {year}: stored {stored:?}, receipts say {computed:?}", short(&person)));
                }
            }
        }
        for ((person, year), computed) in totals_from_receipts {
            if computed != YearTotals::default() {
                totals.violated(|| format!("person {} in {year}: receipts {computed:?} but no year totals", short(&person)));
            }
        }
        out.push(totals);

        let mut ledger = InvariantCheck::new(
            "every account balance is its ledger's sum, never below zero, with one entry per account payment and reversal",
            "append-only account_entries; the person's row lock",
        );
        let mut seen: HashMap<(String, EntryKind), i64> = HashMap::new();
        let mut after_id = 0;
        loop {
            let page = self.store.ledger_page(after_id, PAGE).await?;
            let Some(last) = page.last() else { break };
            after_id = last.1.id;
            for (_, e) in page {
                ledger.checked += 1;
                if let (Some(reference), EntryKind::Settlement | EntryKind::Reversal) = (e.reference.as_ref(), e.kind) {
                    *seen.entry((reference.clone(), e.kind)).or_default() += e.amount_fen;
                }
            }
        }
        for (key, want) in &expected_ledger {
            let got = seen.remove(key).unwrap_or(0);
            if got != *want {
                ledger.violated(|| format!("settlement {}: {} entries add up to {} yuan, its receipt says {}", key.0, key.1, Fen(got), Fen(*want)));
            }
        }
        for ((reference, kind), amount) in seen {
            ledger.violated(|| format!("a {kind} entry of {} yuan names settlement {reference}, which paid nothing from the account", Fen(amount)));
        }
        for (person, balance) in self.store.negative_balances().await? {
            ledger.violated(|| format!("person {}: balance {} yuan", short(&person), Fen(balance)));
        }
        out.push(ledger);

        let mut claims = InvariantCheck::new(
            "every reimbursement claim pays its live manual settlement's fund share, one claim each (R-SET-6)",
            "the claim written in its settlement's transaction under the settlement's id (unique)",
        );
        let mut after = String::new();
        loop {
            let page = self.store.reimbursement_claims_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.id);
            for c in page {
                claims.checked += 1;
                match reimbursable.remove(&c.id) {
                    Some(fund) if fund == c.amount_fen => {}
                    Some(fund) => claims.violated(|| format!("claim {} pays {} yuan, its settlement's fund share is {}", c.id, Fen(c.amount_fen), Fen(fund))),
                    None => claims.violated(|| format!("claim {} has no live manual settlement", c.id)),
                }
            }
        }
        for setl_id in reimbursable.keys() {
            claims.violated(|| format!("manual settlement {setl_id} has no reimbursement claim"));
        }
        out.push(claims);
        Ok(billed)
    }

    async fn verify_fee_lines(&self, billed: &HashMap<String, (String, HashSet<String>)>, out: &mut Vec<InvariantCheck>) -> ServiceResult<()> {
        let mut lines = InvariantCheck::new("every settled fee line is in its settlement's receipt", "2204 and 2207 under the visit's lock; the count of marked lines checked");
        let mut after = (String::new(), String::new());
        loop {
            let page = self.store.settled_lines_page(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = (last.0.clone(), last.1.clone());
            for (visit, sn, setl_id) in page {
                lines.checked += 1;
                match billed.get(&setl_id) {
                    Some((v, sns)) if *v == visit && sns.contains(&sn) => {}
                    Some(_) => lines.violated(|| format!("visit {visit} line {sn} is marked settled by {setl_id}, whose receipt does not bill it")),
                    None => lines.violated(|| format!("visit {visit} line {sn} is marked settled by {setl_id}, which is not a live settlement")),
                }
            }
        }
        out.push(lines);
        Ok(())
    }

    async fn verify_cards(&self, out: &mut Vec<InvariantCheck>) -> ServiceResult<()> {
        let mut one_card = InvariantCheck::new("at most one card that settles per person", "R-ACT-2 in one core function on every path; unique index cards_one_that_settles");
        for (person, n) in self.store.persons_with_cards_that_settle().await? {
            one_card.violated(|| format!("person {} holds {n} cards that settle", short(&person)));
        }
        let mut projection = InvariantCheck::new("every card's state is the projection of its events", "events and the card row written in one transaction");
        let mut outbox = InvariantCheck::new("every event that must be published has its outbox row", "the outbox row written in the event's transaction");
        let published: HashMap<i64, i64> = self.store.outbox_counts().await?.into_iter().collect();
        let mut after = 0;
        loop {
            let page = self.store.cards_with_events_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.0.id;
            for (card, state_column, events) in page {
                projection.checked += 1;
                outbox.checked += 1;
                if let Some(p) = projection_problem(&card, &state_column, &events) {
                    projection.violated(|| p);
                }
                let Ok(events) = events else { continue };
                let due = events.iter().map(|e| yikatong_core::card::notices::changes_of(e, card.applied_at).len()).sum::<usize>() as i64;
                let queued = published.get(&card.id).copied().unwrap_or(0);
                if queued != due {
                    outbox.violated(|| format!("card {}: its events give {due} notices, the outbox holds {queued}", card.id));
                }
            }
        }
        one_card.checked = projection.checked;
        out.push(one_card);
        out.push(projection);
        out.push(outbox);
        Ok(())
    }

    /// Warnings for operators (shown on their pages, in `/healthz` and by `ykt verify`).
    /// R-CAL-2: from the moment a replacement applied for today could be ready in a year
    /// the calendar lacks (the longest production time in working days of any region's
    /// file, e.g. 35 for Beijing's financial cards), the operator is told which year to
    /// load.
    pub fn operator_warnings(&self) -> Vec<String> {
        let today = self.clock.today();
        let calendar = match self.calendar() {
            Ok(c) => c,
            Err(e) => return vec![e.public_message()],
        };
        let longest = self
            .policies
            .regions()
            .flat_map(|r| ["card.production_working_days.financial", "card.production_working_days.ordinary"].map(|k| r.working_days(k, today).ok()))
            .flatten()
            .max()
            .unwrap_or(0);
        match calendar.add_working_days(today, longest) {
            Err(yikatong_core::calendar::CalendarError::YearMissing(year)) => vec![format!(
                "the working-day calendar has no data for {year}: a replacement card applied for today may be ready up to {longest} working days from now, in {year}, and its certificate is issued without a collection date until {year} is loaded (ykt calendar load FILE, or PUT /v1/calendar/years/{year})"
            )],
            _ => Vec::new(),
        }
    }
}
