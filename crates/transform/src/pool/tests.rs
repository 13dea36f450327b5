use super::*;

/// A record with this attribute makes the worker panic (tests only).
pub(super) fn panic_on_request(records: &[Record]) {
    if records
        .iter()
        .any(|record| record.contains_key("__panic_in_worker__"))
    {
        panic!("panic requested by the test");
    }
}
