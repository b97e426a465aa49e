//! How fault injection plugs into the running mock: the engine lives in [`AppState`], the admin
//! routes take it from there (`FromRef`), and requests a fault answers without the gateway (status, close)
//! still get their journal row here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::SecondsFormat;

use super::layer::{FaultJournal, FaultLayerState, ShortCircuit};
use super::meta::{Directory, DirectorySource};
use dukcapil_mock_api::JournalRow;
use std::sync::RwLock;

use crate::core::clock::wib_day;
use crate::http::AppState;

/// The layer's state for a running mock.
pub(crate) fn layer_state(state: &AppState) -> FaultLayerState {
    let mut st = FaultLayerState::new(state.faults.clone(), Directory::default());
    st.directory = Arc::new(LiveDirectory {
        state: state.clone(),
        cached: RwLock::new(None),
    });
    st.journal = Some(Arc::new(AppJournal(state.clone())));
    st
}

/// The running mock's institutions as a directory, built again after one is added or removed.
#[derive(Debug)]
struct LiveDirectory {
    state: AppState,
    cached: RwLock<Option<(u64, Arc<Directory>)>>,
}

impl DirectorySource for LiveDirectory {
    fn current(&self) -> Arc<Directory> {
        let generation = self.state.institutions.generation();
        if let Ok(c) = self.cached.read() {
            if let Some((_, d)) = c.as_ref().filter(|(g, _)| *g == generation) {
                return d.clone();
            }
        }
        let directory = Arc::new(self.state.institutions().into_iter().fold(
            Directory::from_agreements(&self.state.agreements()),
            |d, i| d.with_methods(&i.agreement.customer_id, i.methods.clone()),
        ));
        if let Ok(mut c) = self.cached.write() {
            *c = Some((generation, directory.clone()));
        }
        directory
    }
}

#[derive(Debug)]
struct AppJournal(AppState);

impl FaultJournal for AppJournal {
    fn record(&self, sc: ShortCircuit) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let state = self.0.clone();
        Box::pin(async move {
            let mut now = state.now_for(sc.meta.institution.as_deref());
            let elapsed = sc.started.elapsed();
            let detail = match sc.client_left_during {
                // Stamped at arrival: the attempt belongs to the moment it was sent, which is
                // what the harness matches against its actions.
                Some(delay) => {
                    now -= chrono::Duration::from_std(elapsed).unwrap_or_default();
                    format!(
                        "injected fault: the client closed the connection after {} ms of a {} ms delay; \
                         the gateway did not handle the request",
                        elapsed.as_millis(),
                        delay.as_millis()
                    )
                }
                None => "injected fault: the gateway did not handle the request".into(),
            };
            let detail = match &sc.called_as {
                Some(method) => format!("{detail}; called as {method}"),
                None => detail,
            };
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
                latency_us: i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
                fault: Some(sc.fault.to_string()),
                detail: Some(detail),
            };
            if let Err(e) = state.writer().journal(row, None).await {
                tracing::error!(error = %e, "journal write of a faulted request failed");
            }
        })
    }
}
