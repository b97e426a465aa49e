//! The contract of the Dukcapil mock's admin boundary: the serde types of everything that
//! crosses it, the route list, and the line the mock prints when it is ready. The mock serves
//! these types; the PoC runner, the tests and agency applications read them. With the feature
//! `client`, [`Client`] is a blocking, typed client of the admin API.
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `POST /__admin/reset[?customer_id=]` | – | `{"reset": true}` (`"customer_id"` when scoped) |
//! | `POST /__admin/institutions/{customer_id}/token` | – | [`InstitutionToken`] |
//! | `GET /__admin/dataset` | – | [`DatasetInfo`] |
//! | `GET`/`POST /__admin/clock` | [`ClockChange`] | [`ClockStatus`] |
//! | `GET`/`PUT /__admin/quota/{customer_id}` | [`QuotaChange`] | [`QuotaStatus`] |
//! | `GET /__admin/journal` | [`JournalQuery`] | [`JournalPage`] of [`JournalRow`] |
//! | `GET /__admin/detector` | [`DetectorQuery`] | [`DetectorReport`] |
//! | `GET /__admin/institutions`, `PATCH …/{customer_id}` | [`InstitutionPatch`] | [`InstitutionList`], [`InstitutionView`] |
//! | `POST /__admin/institutions`, `DELETE …/{customer_id}` (operator's token) | [`InstitutionCreate`] | [`InstitutionCreated`], [`InstitutionRemoved`] |
//! | `POST /__admin/residents`, `GET`/`PATCH …/{nik}` | [`ResidentCreate`] | [`ResidentsCreated`], [`ResidentRecord`] |
//! | `GET /__admin/balikan` | [`LedgerQuery`] | [`LedgerPage`] of [`LedgerEntry`] |
//! | `GET`/`POST /__admin/portal/operators`, `DELETE …/{customer_id}/{username}` | [`PortalOperatorCreate`] | [`PortalOperatorList`], [`PortalOperatorView`] |
//! | `GET`/`POST`/`DELETE /__admin/faults[/{id}]` | [`FaultRule`] | [`FaultList`], [`FaultView`], [`FaultRejection`], [`FaultsCleared`] |
//!
//! Every other admin error is `{"error": "<text>"}` ([`AdminErrorBody`]).
//!
//! Two kinds of admin token: the sandbox operator's (every institution; the unscoped reset and
//! the sandbox clock) and an institution's own (settings file or issued through the API), which
//! reads and changes that institution only: another institution's data or switches answer 403.

mod clock;
mod dataset;
mod detector;
mod faults;
mod institutions;
mod journal;
mod ledger;
mod portal;
mod quota;
mod residents;
mod routes;

#[cfg(feature = "client")]
mod client;

pub use clock::{ClockChange, ClockStatus};
pub use dataset::DatasetInfo;
pub use detector::{DetectorQuery, DetectorReport};
pub use faults::{
    rule_from_json, Endpoint, EndpointFilter, FaultAction, FaultList, FaultRejection, FaultRule,
    FaultView, FaultsCleared, Nth, RuleError, RuleListError, FAULT_STATUSES, MAX_WAIT_MS,
};
pub use institutions::{
    check_method_names, valid_customer_id, AccessHours, BalikanKeys, HoursView, InstitutionCreate,
    InstitutionCreated, InstitutionList, InstitutionPatch, InstitutionRemoved, InstitutionToken,
    InstitutionView, IpPolicy,
};
pub use journal::{JournalPage, JournalQuery, JournalRow, Paging};
pub use ledger::{LedgerEntry, LedgerPage, LedgerQuery};
pub use portal::{
    valid_username, PortalOperatorCreate, PortalOperatorList, PortalOperatorView,
    MAX_PORTAL_PASSWORD, MAX_USERNAME,
};
pub use quota::{QuotaChange, QuotaStatus};
pub use residents::{ResidentCreate, ResidentRecord, ResidentsCreated};
pub use routes::{
    listening_url, ADMIN_PREFIX, BALIKAN_LISTENING_PREFIX, DASHBOARD, HEALTHZ, LISTENING_PREFIX,
    PORTAL_LOGIN, PORTAL_LOGOUT, PORTAL_SEARCH, ROUTES,
};

#[cfg(feature = "client")]
pub use client::{Client, ClientError};

/// The body of every admin error answer but the fault rules' 422.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdminErrorBody {
    /// What went wrong, for a human reader.
    pub error: String,
}
