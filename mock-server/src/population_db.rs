//! The generated dummy population in SQLite (to be implemented).
