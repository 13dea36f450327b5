//! The console over real HTTP on both backends: sign-in and sessions, CSRF, the security
//! headers, isolation between applications, escaping, secrets never shown, forms that show the
//! API's errors next to their fields, and the pages that read the store's console queries.

mod harness;
mod pages;
mod security;
