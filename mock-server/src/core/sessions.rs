//! The admin dashboard's sessions: a random id (for an HttpOnly, SameSite=Strict cookie), the
//! session itself (its CSRF token, its language, its expiry) only in this map. Real time, not the
//! mock's controllable clock: moving the clock for a test does not log the engineer out, and a
//! reset of the mock's state does not either.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::RngCore;

/// How long a session lasts after its last request.
pub(crate) const IDLE: Duration = Duration::from_secs(8 * 3600);
/// Most sessions held at once; the oldest go first (each login makes one).
const MAX_SESSIONS: usize = 256;

/// One logged-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The cookie's value.
    pub(crate) id: String,
    /// Sent back with every state-changing form (`csrf` field).
    pub(crate) csrf: String,
    /// The page language's code (`id`, `en`).
    pub(crate) lang: &'static str,
    expires: Instant,
    created: Instant,
}

impl Session {
    /// Whether `candidate` is this session's CSRF token (time independent of where they differ).
    pub(crate) fn csrf_is(&self, candidate: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// 32 random bytes from the operating system, as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The sessions of one dashboard.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session (after a correct admin token).
    pub(crate) fn create(&self, lang: &'static str) -> Session {
        let now = Instant::now();
        let session = Session {
            id: random_hex(),
            csrf: random_hex(),
            lang,
            expires: now + IDLE,
            created: now,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map.values().min_by_key(|s| s.created).map(|s| s.id.clone()) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session of cookie value `id`, its expiry moved on; expired ones are dropped.
    pub(crate) fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(id) {
            Some(s) if s.expires > now => {
                s.expires = now + IDLE;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Changes a session's language.
    pub(crate) fn set_lang(&self, id: &str, lang: &'static str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get_mut(id) {
            s.lang = lang;
        }
    }

    /// Ends a session (logout).
    pub(crate) fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_and_end_at_logout() {
        let s = Sessions::default();
        let a = s.create("id");
        let b = s.create("en");
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, a.id);
        assert_eq!(a.id.len(), 64);
        assert!(s.touch(&a.id).is_some());
        assert!(s.touch("not-a-session").is_none());
        s.remove(&a.id);
        assert!(s.touch(&a.id).is_none());
        assert!(a.csrf_is(&a.csrf) && !a.csrf_is(&b.csrf) && !a.csrf_is(""));
    }

    #[test]
    fn expired_sessions_are_refused() {
        let s = Sessions::default();
        let a = s.create("id");
        s.map.lock().unwrap().get_mut(&a.id).unwrap().expires = Instant::now();
        assert!(s.touch(&a.id).is_none());
    }
}
