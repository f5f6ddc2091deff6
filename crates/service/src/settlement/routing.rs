//! R-XREG-1: which region a national-interface call is for. Each pooling region (统筹区)
//! may run its own deployment (`ykt serve --region …`); the envelope carries the region
//! of care (`mdtrtarea_admvs`) and the holder's insured region (`insuplc_admdvs`), each
//! a six-digit division code found in the region files
//! ([`yikatong_core::policy::PolicySet::region_of_division`]).
//!
//! A deployment of one region answers only visits at its own institutions: a call for
//! another region's institution is refused with the reason, before anything is
//! recorded. A holder another region insures is served through that region
//! ([`Route::Insured`], see `cross_region`) when the deployment has a link to it, and
//! refused with the reason when it has none.
//! Served for every region (no `--region`), one deployment answers every call as before
//! and the codes are not checked.

use yikatong_core::Refusal;

use crate::{Service, ServiceResult};

/// Where a call's holder is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// By this deployment.
    Here,
    /// By the deployment of the region with this file code, which insures the holder.
    Insured(String),
}

impl Service {
    /// The region this deployment serves, if it serves one only.
    pub fn served_region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Checks a call's region codes against the region this deployment serves.
    pub fn route_call(&self, care_admdvs: &str, insured_admdvs: &str) -> ServiceResult<Route> {
        let Some(served) = self.region.as_deref() else { return Ok(Route::Here) };
        let here = self.policies.region(served).map_err(crate::ServiceError::from)?;
        let care = self.policies.region_of_division(care_admdvs);
        if care.is_none_or(|r| r.code != here.code) {
            let what = care.map_or_else(|| "no region's".to_string(), |r| format!("{}'s", r.name));
            return Err(Refusal::bad_input("wrong_region", format!("this deployment serves {} ({}); mdtrtarea_admvs {care_admdvs:?} is {what}", here.name, here.admdvs)).into());
        }
        if insured_admdvs.trim().is_empty() {
            return Ok(Route::Here);
        }
        match self.policies.region_of_division(insured_admdvs) {
            Some(r) if r.code == here.code => Ok(Route::Here),
            Some(r) if self.region_link.is_some() => Ok(Route::Insured(r.code.clone())),
            Some(r) => Err(Refusal::conflict(
                "cross_region_unavailable",
                format!(
                    "the holder is insured in {} ({}): this deployment settles the holders {} insures only, having no link to the other regions (ykt serve --nats)",
                    r.name, r.admdvs, here.name
                ),
            )
            .into()),
            None => Err(Refusal::bad_input("unknown_region", format!("insuplc_admdvs {insured_admdvs:?} is no region's division code")).into()),
        }
    }
}
