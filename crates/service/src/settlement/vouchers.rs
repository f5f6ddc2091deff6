//! The electronic medical-insurance voucher (医保电子凭证, `mdtrt_cert_type` 01,
//! R-SET-11): a random, single-use code the holder shows as a QR code, valid for the
//! region's dated number of minutes, for one visit — the 1101 that reads it and the 2201
//! that registers the visit. The code is kept only as its keyed hash; the 2201 marks it
//! used in the registration's transaction with a conditional update, so two
//! registrations racing with one code register one visit.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::clock::shanghai;
use yikatong_store::{Person, Voucher};

use crate::{Service, ServiceError, ServiceResult};

/// `POST /v1/persons/{ssn}/vouchers`: the code, shown once, and when it expires.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedVoucher {
    /// The text of the QR code a hospital's scanner reads (`mdtrt_cert_no` with
    /// `mdtrt_cert_type` 01).
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// A voucher a hospital presented, checked: its holder and the code's keyed hash.
pub(crate) struct PresentedVoucher {
    pub person: Person,
    pub code_hash: String,
}

impl Service {
    /// Issues a voucher for the holder (on the portal) or, at the counter, by a clerk for
    /// the holder. Its lifetime is the region's `settlement.voucher_minutes` in force today.
    pub async fn issue_voucher(&self, who: &Principal, ssn: &str) -> ServiceResult<IssuedVoucher> {
        let person = self.visible_person(who, ssn, Operation::IssueVoucher).await?;
        let now = self.clock.now();
        let minutes = self.policies.region(&person.region)?.minutes("settlement.voucher_minutes", now.with_timezone(&shanghai()).date_naive())?;
        let random: [u8; 16] = yikatong_store::crypto::random_bytes();
        let code = format!("YKT{}", hex::encode_upper(random));
        let expires_at = now + Duration::minutes(i64::from(minutes));
        let key = self.store.data_key();
        self.store.insert_voucher(&key.lookup_hash(&code), &person.key_with(key), now, expires_at).await?;
        tracing::info!(expires_at = %expires_at, "voucher issued");
        Ok(IssuedVoucher { code, expires_at })
    }

    /// The voucher `code` as the institution presents it, refused with its reason when
    /// unknown, expired, used, or read first by another institution. `read` (1101) binds
    /// it to this institution.
    pub(crate) async fn presented_voucher(&self, institution: &str, code: &str, read: bool) -> ServiceResult<PresentedVoucher> {
        let code_hash = self.store.data_key().lookup_hash(code.trim());
        let voucher = self
            .store
            .voucher(&code_hash)
            .await?
            .ok_or_else(|| ServiceError::from(Refusal::not_found("voucher_unknown", "no electronic voucher has this code; ask the holder to show a new one")))?;
        check_voucher(&voucher, institution, self.clock.now())?;
        if read && !self.store.mark_voucher_read(&code_hash, institution).await? {
            return Err(voucher_used());
        }
        let person = self.store.get_person_by_hash(&voucher.person_hash).await?.ok_or_else(|| ServiceError::Internal("voucher without person".into()))?;
        Ok(PresentedVoucher { person, code_hash })
    }
}

pub(crate) fn voucher_used() -> ServiceError {
    Refusal::conflict("voucher_used", "this electronic voucher was used for a visit already; ask the holder to show a new one").into()
}

/// Why a voucher may not identify its holder now at `institution`, if it may not.
fn check_voucher(v: &Voucher, institution: &str, now: DateTime<Utc>) -> ServiceResult<()> {
    if v.used_at.is_some() {
        return Err(voucher_used());
    }
    if v.expires_at <= now {
        let at = v.expires_at.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M:%S");
        return Err(Refusal::conflict("voucher_expired", format!("this electronic voucher expired at {at}; ask the holder to show a new one")).into());
    }
    if v.read_by.as_deref().is_some_and(|r| r != institution) {
        return Err(Refusal::conflict("voucher_elsewhere", "this electronic voucher was read by another institution; it serves one visit").into());
    }
    Ok(())
}
