//! The mock's rules, without HTTP and without SQL: institutions and their admin changes, quota
//! counting, the controllable clock, the admin dashboard's sessions, where residents are found, the fault engine, data-balikan
//! parsing and validation. Persistence goes through [`crate::db`].

pub(crate) mod balikan;
pub(crate) mod clock;
pub(crate) mod faults;
pub(crate) mod institutions;
pub(crate) mod portal;
pub(crate) mod quota;
pub(crate) mod residents;
pub(crate) mod sessions;
pub(crate) mod state;
pub(crate) mod tokens;

pub(crate) use state::Core;
