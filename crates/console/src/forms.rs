//! Forms described as data: each resource type lists its [`Field`]s (a JSON path such as
//! `input.url`, a label, a [`Kind`]); the same list renders the form, turns the submitted fields
//! into the API's JSON body, and puts the API's error next to the field its path names.
//!
//! Secret fields are write-only: never rendered with a value, shown as "set" on edit, and sent
//! only when something was typed (the API keeps a stored secret a body leaves out).

use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::api_call::ApiFailure;
use crate::session::SignedForm;

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text.
    Text,
    /// Several lines of text, sent as one string.
    LongText,
    /// A write-only secret.
    Secret,
    /// A write-only secret of several lines (a PEM key).
    LongSecret,
    /// An integer.
    Number,
    /// One of these values ("" for none).
    Select(&'static [&'static str]),
    /// One value per line, sent as an array of strings.
    Lines,
    /// Rows of column → type, sent as an object (a CSV source's `mapping`).
    Mapping,
    /// A JSON object.
    Json,
    /// A write-only JSON object of secret values (a `secrets` authentication).
    SecretJson,
    /// A checkbox, sent as a boolean.
    Checkbox,
}

/// One field of a form.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Where the value goes in the body, dotted (`input.channel.id`).
    pub path: &'static str,
    /// Its label.
    pub label: &'static str,
    /// How it is entered.
    pub kind: Kind,
    /// A line of help under it.
    pub help: &'static str,
}

/// Shorthand for a [`Field`].
pub const fn field(
    path: &'static str,
    label: &'static str,
    kind: Kind,
    help: &'static str,
) -> Field {
    Field {
        path,
        label,
        kind,
        help,
    }
}

/// The CSV column types of a mapping.
pub const MAPPING_TYPES: &[&str] = &["string", "integer", "float", "boolean", "json"];

/// A form's error: the field it belongs to (when it names one) and a sentence.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    /// The field path (`input.delimiter`), when known.
    pub field: Option<String>,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl FormError {
    /// The error of a refused API call.
    pub fn from_api(failure: &ApiFailure) -> Self {
        match failure.field() {
            Some(path) => Self {
                field: Some(path.to_owned()),
                message: failure.message.clone(),
            },
            None => Self {
                field: None,
                message: failure.sentence(),
            },
        }
    }

    /// Whether it belongs to field `path`: the same path or one inside it (`input.mapping.x`
    /// belongs to `input.mapping`).
    pub fn belongs_to(&self, path: &str) -> bool {
        self.field.as_deref().is_some_and(|f| {
            f == path
                || f.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

/// The submitted value of a field, as typed (for re-rendering a refused form).
pub fn submitted(form: &SignedForm, field: &Field) -> Value {
    match field.kind {
        Kind::Mapping => {
            let columns = form.all(&format!("{}.column", field.path));
            let types = form.all(&format!("{}.type", field.path));
            let mut map = Map::new();
            for (column, kind) in columns.iter().zip(types.iter()) {
                if !column.trim().is_empty() {
                    map.insert(column.trim().to_owned(), Value::String((*kind).to_owned()));
                }
            }
            Value::Object(map)
        }
        Kind::Checkbox => Value::Bool(form.get(field.path) == "true"),
        _ => Value::String(form.get(field.path).to_owned()),
    }
}

/// Sets `value` at dotted `path` in `body`, creating objects on the way.
pub fn set_path(body: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = body;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
}

/// The value at dotted `path` of `value`.
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, part| v.get(part))
}

/// Builds the API body from the submitted `fields`: empty fields are left out (a secret left
/// empty keeps the stored one). Fails on a JSON field that does not parse, naming it.
pub fn body_from(form: &SignedForm, fields: &[Field]) -> Result<Map<String, Value>, FormError> {
    let mut body = Map::new();
    for field in fields {
        let raw = form.get(field.path);
        let value = match field.kind {
            Kind::Text | Kind::LongText | Kind::Secret | Kind::LongSecret | Kind::Select(_) => {
                if raw.is_empty() {
                    continue;
                }
                Value::String(raw.to_owned())
            }
            Kind::Number => {
                if raw.is_empty() {
                    continue;
                }
                // A value that is not a number goes as text: the API's message names the field.
                raw.parse::<i64>()
                    .map_or_else(|_| Value::String(raw.to_owned()), Value::from)
            }
            Kind::Lines => {
                let lines: Vec<Value> = raw
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_owned()))
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                Value::Array(lines)
            }
            Kind::Mapping => {
                let value = submitted(form, field);
                if value.as_object().is_some_and(Map::is_empty) {
                    continue;
                }
                value
            }
            Kind::Json | Kind::SecretJson => {
                if raw.is_empty() {
                    continue;
                }
                serde_json::from_str::<Value>(raw).map_err(|error| FormError {
                    field: Some(field.path.to_owned()),
                    message: format!("{}: is not valid JSON ({error})", field.path),
                })?
            }
            Kind::Checkbox => Value::Bool(raw == "true"),
        };
        set_path(&mut body, field.path, value);
    }
    Ok(body)
}

/// Where a form's values come from when it is rendered.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// A new resource: nothing.
    Empty,
    /// The stored resource (its JSON as the API returns it, secrets `null`).
    Stored(&'a Value),
    /// A refused submission, as typed.
    Submitted(&'a SignedForm),
}

fn html_id(path: &str) -> String {
    format!("f-{}", path.replace('.', "-"))
}

/// The inputs of `fields` with their labels, help and errors.
pub fn render_fields(fields: &[Field], values: Values<'_>, error: Option<&FormError>) -> Markup {
    html! {
        @for field in fields {
            (render_field(field, values, error))
        }
    }
}

/// The text a field shows.
fn shown(field: &Field, values: Values<'_>) -> (String, Value) {
    let value = match values {
        Values::Empty => Value::Null,
        Values::Stored(stored) => get_path(stored, field.path).cloned().unwrap_or(Value::Null),
        Values::Submitted(form) => submitted(form, field),
    };
    let text = match (&value, field.kind) {
        (_, Kind::Secret | Kind::LongSecret | Kind::SecretJson) => String::new(),
        (Value::Null, _) => String::new(),
        (Value::String(s), _) => s.clone(),
        (Value::Array(items), Kind::Lines) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("\n"),
        (other, Kind::Json) => serde_json::to_string_pretty(other).unwrap_or_default(),
        (other, _) => other.to_string(),
    };
    (text, value)
}

fn render_field(field: &Field, values: Values<'_>, error: Option<&FormError>) -> Markup {
    let id = html_id(field.path);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let mine = error.filter(|e| e.belongs_to(field.path));
    let invalid = mine.is_some().then_some("true");
    let described = match (field.help.is_empty(), mine.is_some()) {
        (true, false) => None,
        (false, false) => Some(help_id.clone()),
        (true, true) => Some(error_id.clone()),
        (false, true) => Some(format!("{help_id} {error_id}")),
    };
    let (text, value) = shown(field, values);
    let stored_secret = matches!(values, Values::Stored(_))
        && matches!(
            field.kind,
            Kind::Secret | Kind::LongSecret | Kind::SecretJson
        );
    html! {
        div.field {
            @match field.kind {
                Kind::Checkbox => {
                    label for=(id) {
                        input #(id) type="checkbox" name=(field.path) value="true"
                            checked[value.as_bool() == Some(true) || (matches!(values, Values::Empty))]
                            aria-describedby=[described.as_deref()];
                        " " (field.label)
                    }
                }
                Kind::Mapping => {
                    fieldset aria-describedby=[described.as_deref()] {
                        legend { (field.label) }
                        div.mapping {
                            span { "Column" } span { "Type" }
                            @let rows: Vec<(String, String)> = value.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())).collect()).unwrap_or_default();
                            @for (i, (column, kind)) in rows.iter().cloned().chain(std::iter::repeat_n((String::new(), String::new()), 3)).enumerate() {
                                input type="text" name={ (field.path) ".column" } value=(column)
                                    aria-label={ "Column " (i + 1) } aria-invalid=[invalid];
                                select name={ (field.path) ".type" } aria-label={ "Type of column " (i + 1) } {
                                    @for t in MAPPING_TYPES {
                                        option value=(t) selected[*t == kind] { (t) }
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {
                    label for=(id) { (field.label) }
                    @match field.kind {
                        Kind::Select(options) => {
                            select #(id) name=(field.path) aria-invalid=[invalid] aria-describedby=[described.as_deref()] {
                                option value="" { "—" }
                                @for option in options {
                                    option value=(option) selected[*option == text] { (option) }
                                }
                            }
                        }
                        Kind::LongText | Kind::Json | Kind::Lines => {
                            textarea #(id) name=(field.path) aria-invalid=[invalid] aria-describedby=[described.as_deref()] { (text) }
                        }
                        Kind::LongSecret | Kind::SecretJson => {
                            textarea #(id) name=(field.path) autocomplete="off" aria-invalid=[invalid] aria-describedby=[described.as_deref()]
                                placeholder=[stored_secret.then_some("set: type a new value to replace it")] {}
                        }
                        Kind::Secret => {
                            input #(id) type="password" name=(field.path) autocomplete="new-password" aria-invalid=[invalid]
                                aria-describedby=[described.as_deref()]
                                placeholder=[stored_secret.then_some("set: type a new value to replace it")];
                        }
                        Kind::Number => {
                            input #(id) type="text" inputmode="numeric" name=(field.path) value=(text) aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                        }
                        _ => {
                            input #(id) type="text" name=(field.path) value=(text) aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                        }
                    }
                }
            }
            @if !field.help.is_empty() {
                p.help #(help_id) { (field.help) }
            }
            @if let Some(error) = mine {
                p.error #(error_id) role="alert" { (error.message) }
            }
        }
    }
}

/// A select whose options are read from the store: `(value, label)` pairs, "" for none when
/// `none` is given.
pub fn select_field(
    path: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    none: Option<&str>,
    help: &str,
    error: Option<&FormError>,
) -> Markup {
    let id = html_id(path);
    let mine = error.filter(|e| e.belongs_to(path));
    html! {
        div.field {
            label for=(id) { (label) }
            select #(id) name=(path) aria-invalid=[mine.map(|_| "true")] {
                @if let Some(none) = none { option value="" { (none) } }
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            @if !help.is_empty() { p.help { (help) } }
            @if let Some(error) = mine { p.error role="alert" { (error.message) } }
        }
    }
}

/// The alert above a form for an error no field shows.
pub fn form_alert(fields: &[&str], error: Option<&FormError>) -> Markup {
    let Some(error) = error else {
        return crate::layout::nothing();
    };
    if fields.iter().any(|path| error.belongs_to(path)) {
        return html! {
            div.alert role="alert" { "The form has an error: see the field marked below." }
        };
    }
    html! { div.alert role="alert" { (error.message) } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SignedIn;

    fn form(fields: &[(&str, &str)]) -> SignedForm {
        SignedForm {
            session: SignedIn {
                app: "APP".into(),
                csrf: "t".into(),
            },
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn bodies_are_built_from_paths_and_kinds() {
        let fields = [
            field("name", "Name", Kind::Text, ""),
            field("input.url", "URL", Kind::Text, ""),
            field("input.channel.id", "Channel", Kind::Number, ""),
            field("input.mapping", "Mapping", Kind::Mapping, ""),
            field("input.locales", "Locales", Kind::Lines, ""),
            field("input.apiKey", "Key", Kind::Secret, ""),
        ];
        let submitted = form(&[
            ("name", " products "),
            ("input.url", "http://x/a.csv"),
            ("input.channel.id", "12"),
            ("input.mapping.column", "price"),
            ("input.mapping.type", "float"),
            ("input.mapping.column", ""),
            ("input.mapping.type", "string"),
            ("input.locales", "en\n\n fr \n"),
            ("input.apiKey", ""),
        ]);
        let body = body_from(&submitted, &fields).unwrap();
        assert_eq!(
            Value::Object(body),
            serde_json::json!({
                "name": "products",
                "input": {
                    "url": "http://x/a.csv",
                    "channel": {"id": 12},
                    "mapping": {"price": "float"},
                    "locales": ["en", "fr"]
                }
            })
        );
        let bad = form(&[("input.custom", "{nope")]);
        let error = body_from(&bad, &[field("input.custom", "C", Kind::Json, "")]).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("input.custom"));
    }

    #[test]
    fn errors_belong_to_their_field_and_the_ones_inside_it() {
        let error = FormError {
            field: Some("input.mapping.price".into()),
            message: "x".into(),
        };
        assert!(error.belongs_to("input.mapping"));
        assert!(!error.belongs_to("input.map"));
        assert!(!error.belongs_to("input.url"));
    }

    #[test]
    fn secrets_are_never_rendered() {
        let stored = serde_json::json!({"input": {"apiKey": "leaked?", "appID": "A"}});
        let fields = [
            field("input.appID", "App", Kind::Text, ""),
            field("input.apiKey", "Key", Kind::Secret, ""),
        ];
        let html = render_fields(&fields, Values::Stored(&stored), None).into_string();
        assert!(!html.contains("leaked?"));
        assert!(html.contains("set: type a new value"));
        assert!(html.contains("value=\"A\""));
    }
}
