//! The mock's HTTP surface as constants: every route it serves, the admin prefix, and the line
//! `mock-server serve` prints once it accepts connections.

/// Every route the mock serves, as `(method, OpenAPI path)`: the single list. Whoever adds a
/// route to the mock adds it here and to its OpenAPI document; the mock's tests check that each
/// entry is served and documented, and the auth tests walk it.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/dukcapil/get_json/{customer_id}/{method}"),
    ("POST", "/dukcapil/get_json/{region}/{customer_id}/{method}"),
    ("POST", "/data_balikan/public/api/store"),
    ("POST", "/data_balikan/public/api/upload"),
    ("GET", "/__admin/clock"),
    ("POST", "/__admin/clock"),
    ("GET", "/__admin/quota/{customer_id}"),
    ("PUT", "/__admin/quota/{customer_id}"),
    ("GET", "/__admin/journal"),
    ("GET", "/__admin/usage"),
    ("GET", "/__admin/detector"),
    ("GET", "/__admin/dataset"),
    ("GET", "/__admin/institutions"),
    ("POST", "/__admin/institutions"),
    ("PATCH", "/__admin/institutions/{customer_id}"),
    ("DELETE", "/__admin/institutions/{customer_id}"),
    ("POST", "/__admin/institutions/{customer_id}/token"),
    ("POST", "/__admin/residents"),
    ("GET", "/__admin/residents/{nik}"),
    ("PATCH", "/__admin/residents/{nik}"),
    ("GET", "/__admin/openapi.json"),
    ("POST", "/__admin/reset"),
    ("GET", "/__admin/balikan"),
    ("GET", "/__admin/faults"),
    ("POST", "/__admin/faults"),
    ("DELETE", "/__admin/faults"),
    ("GET", "/__admin/faults/{id}"),
    ("DELETE", "/__admin/faults/{id}"),
    ("GET", "/__admin/ui"),
    ("GET", "/__admin/ui/login"),
    ("POST", "/__admin/ui/login"),
    ("POST", "/__admin/ui/logout"),
    ("GET", "/__admin/ui/journal.json"),
    ("GET", "/__admin/ui/institutions"),
    ("POST", "/__admin/ui/institutions/{customer_id}"),
    ("GET", "/__admin/ui/balikan"),
    ("GET", "/__admin/ui/detector"),
    ("GET", "/__admin/ui/faults"),
    ("POST", "/__admin/ui/faults"),
    ("POST", "/__admin/ui/faults/{id}/delete"),
    ("GET", "/__admin/ui/usage"),
    ("GET", "/__admin/ui/usage.csv"),
    ("GET", "/__admin/portal/operators"),
    ("POST", "/__admin/portal/operators"),
    (
        "DELETE",
        "/__admin/portal/operators/{customer_id}/{username}",
    ),
    ("GET", PORTAL_LOGIN),
    ("POST", PORTAL_LOGIN),
    ("GET", PORTAL_SEARCH),
    ("POST", PORTAL_SEARCH),
    ("POST", PORTAL_LOGOUT),
    ("GET", HEALTHZ),
];

/// Where the live dashboard is served (HTML pages behind a login with the admin token, then a
/// session cookie; the same loopback rule as the admin API). Its routes are in [`ROUTES`].
pub const DASHBOARD: &str = "/__admin/ui";

/// The readiness probe: no token, no data, never journaled. 200 `{"status":"ok"}` once the mock
/// serves; while `mock-server serve` is still preparing its dataset (the port is bound first),
/// 503 `{"status":"starting"}`.
pub const HEALTHZ: &str = "/healthz";

/// The mock Web Portal's login page (form and its POST).
pub const PORTAL_LOGIN: &str = "/portal/masuk";
/// The Web Portal's NIK search (form and result).
pub const PORTAL_SEARCH: &str = "/portal/cari";
/// The Web Portal's logout (POST).
pub const PORTAL_LOGOUT: &str = "/portal/keluar";

/// Where the admin API is mounted.
pub const ADMIN_PREFIX: &str = "/__admin";

/// The start of the stdout line `mock-server serve` prints once it accepts connections; the rest
/// of the line is the base URL (`http://127.0.0.1:PORT` or `https://…`). Programs that start the
/// mock wait for this line and read the URL from it.
pub const LISTENING_PREFIX: &str = "listening on ";

/// The start of the stdout line naming the data-balikan service's own base URL, printed (before
/// the [`LISTENING_PREFIX`] line) when `--balikan-listen` puts it on an address of its own.
pub const BALIKAN_LISTENING_PREFIX: &str = "data balikan listening on ";

/// The base URL in a line the mock printed, if the line is its listening line.
///
/// ```
/// assert_eq!(
///     dukcapil_mock_api::listening_url("listening on http://127.0.0.1:8000"),
///     Some("http://127.0.0.1:8000")
/// );
/// assert_eq!(dukcapil_mock_api::listening_url("admin token: x"), None);
/// ```
pub fn listening_url(line: &str) -> Option<&str> {
    line.strip_prefix(LISTENING_PREFIX).map(str::trim)
}
