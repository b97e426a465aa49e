//! How fault injection plugs into the running mock: the engine lives in [`AppState`], the admin
//! routes take it from there (`FromRef`), and requests a fault answers without the gateway (status, close)
//! still get their journal row here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::SecondsFormat;

use super::layer::{FaultJournal, FaultLayerState, ShortCircuit};
use super::meta::Directory;
use dukcapil_mock_api::JournalRow;

use crate::core::clock::wib_day;
use crate::http::AppState;

/// The layer's state for a running mock.
pub(crate) fn layer_state(state: &AppState) -> FaultLayerState {
    let directory = state
        .institutions()
        .into_iter()
        .fold(Directory::from_agreements(state.agreements()), |d, i| {
            d.with_methods(&i.agreement.customer_id, i.methods.clone())
        });
    let mut st = FaultLayerState::new(state.faults.clone(), directory);
    st.journal = Some(Arc::new(AppJournal(state.clone())));
    st
}

#[derive(Debug)]
struct AppJournal(AppState);

impl FaultJournal for AppJournal {
    fn record(&self, sc: ShortCircuit) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let state = self.0.clone();
        Box::pin(async move {
            let now = state.now_for(sc.meta.institution.as_deref());
            let row = JournalRow {
                id: 0,
                time: now.to_rfc3339_opts(SecondsFormat::Micros, true),
                wib_day: wib_day(now).to_string(),
                endpoint: sc.endpoint_name,
                customer_id: sc.meta.institution,
                operator: sc.meta.operator,
                nik: sc.meta.niks.into_iter().next(),
                // No business outcome: the gateway never handled the request.
                outcome: "-".into(),
                http_status: sc.http_status.unwrap_or(0),
                elements: Vec::new(),
                source: sc.source.map(|s| s.ip().to_canonical().to_string()),
                latency_us: i64::try_from(sc.started.elapsed().as_micros()).unwrap_or(i64::MAX),
                fault: Some(sc.fault.to_string()),
                detail: Some("injected fault: the gateway did not handle the request".into()),
            };
            if let Err(e) = state.writer().journal(row, None).await {
                tracing::error!(error = %e, "journal write of a faulted request failed");
            }
        })
    }
}
