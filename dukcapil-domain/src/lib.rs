//! The domain core shared by `mock-server` and `poc-runner`: identity numbers, data elements
//! and their wire keys, outcome codes and texts, agreement profiles, the embedded public
//! reference data and the deterministic dummy-population generator. No HTTP and no SQL here.

pub mod agreement;
pub mod detector;
pub mod element;
pub mod nik;
pub mod outcome;
pub mod population;
pub mod reference;
pub mod resident;

pub use agreement::{
    AccessMethod, Agreement, AgreementError, BalikanField, BalikanFormat, DummyCredentials, Term,
};
pub use element::{Element, Field, FieldSet, UnknownName};
pub use nik::{mask_nik, IdNumberError, Nik, NikInfo, NoKk, Sex, DOUBLE_EXACT_LIMIT};
pub use outcome::{Catalogue, Outcome, Service};
pub use population::{generate, PopulationSpec, REFERENCE_DATE};
pub use reference::Reference;
pub use resident::{
    DateFormat, FieldValue, IdNumberType, Resident, ResidentStatus, WireFlavour, WireValue,
};
