//! What the tune list asks the database for and what it gets back, and how the list's
//! filter, sort and page are written in its address (`/?q=reel&sort=type&order=desc&page=2`)
//! so that reloading, Back and a shared link keep them.

use serde::{Deserialize, Serialize};

use crate::domain::{TuneSummary, Uuid};

/// A column the list can be sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortColumn {
    #[default]
    Title,
    Type,
    Mode,
    Genre,
    LastModified,
}

impl SortColumn {
    /// Every sortable column, in table order.
    pub const ALL: [SortColumn; 5] =
        [SortColumn::Title, SortColumn::Type, SortColumn::Mode, SortColumn::Genre, SortColumn::LastModified];

    /// The column's name in the list's address.
    pub fn key(self) -> &'static str {
        match self {
            SortColumn::Title => "title",
            SortColumn::Type => "type",
            SortColumn::Mode => "mode",
            SortColumn::Genre => "genre",
            SortColumn::LastModified => "modified",
        }
    }

    /// The column named `key` in an address.
    pub fn from_key(key: &str) -> Option<SortColumn> {
        SortColumn::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The column header text.
    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Title => "Title",
            SortColumn::Type => "Type",
            SortColumn::Mode => "Mode",
            SortColumn::Genre => "Genre",
            SortColumn::LastModified => "Last modified",
        }
    }
}

/// What the list asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListQuery {
    /// Text to find in title, composer or incipit (case-insensitive); empty shows all.
    pub filter: String,
    pub sort: SortColumn,
    pub descending: bool,
    /// Index of the first row of the page among the matching rows.
    pub offset: u32,
    /// Page size; capped at [`ListQuery::MAX_LIMIT`].
    pub limit: u32,
    /// Only tunes with this tag (case-insensitive).
    #[serde(default)]
    pub tag: Option<String>,
    /// Only tunes in this repertoire.
    #[serde(default)]
    pub repertoire: Option<Uuid>,
    /// Only tunes in this key, as the app writes keys ("E dorian"; case-insensitive).
    #[serde(default)]
    pub key: Option<String>,
    /// Only tunes of this type ("reel").
    #[serde(default)]
    pub tune_type: Option<String>,
}

impl ListQuery {
    /// The largest page the data layer returns, so no request can pull every row at once.
    pub const MAX_LIMIT: u32 = 500;

    /// The query string (without `?`) for this filter, sort and page; empty for the
    /// defaults. Pages are numbered from 1 in addresses.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if !self.filter.is_empty() {
            parts.push(format!("q={}", percent_encode(&self.filter)));
        }
        if self.sort != SortColumn::Title {
            parts.push(format!("sort={}", self.sort.key()));
        }
        if self.descending {
            parts.push("order=desc".to_string());
        }
        if let Some(tag) = &self.tag {
            parts.push(format!("tag={}", percent_encode(tag)));
        }
        if let Some(repertoire) = self.repertoire {
            parts.push(format!("repertoire={repertoire}"));
        }
        if let Some(key) = &self.key {
            parts.push(format!("key={}", percent_encode(key)));
        }
        if let Some(t) = &self.tune_type {
            parts.push(format!("type={}", percent_encode(t)));
        }
        let page = self.offset / self.limit.max(1) + 1;
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }

    /// Reads a list address's query string (with or without `?`), pages of `limit` rows.
    /// Anything unknown or malformed falls back to the default.
    pub fn from_query_string(query: &str, limit: u32) -> ListQuery {
        let mut q = ListQuery { limit, ..ListQuery::default() };
        for pair in query.trim_start_matches('?').split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            match key {
                "q" => q.filter = value,
                "sort" => q.sort = SortColumn::from_key(&value).unwrap_or_default(),
                "order" => q.descending = value == "desc",
                "tag" => q.tag = Some(value).filter(|t| !t.trim().is_empty()),
                "repertoire" => q.repertoire = value.parse().ok(),
                "key" => q.key = Some(value).filter(|k| !k.trim().is_empty()),
                "type" => q.tune_type = Some(value).filter(|t| !t.trim().is_empty()),
                "page" => {
                    let page = value.parse::<u32>().unwrap_or(1).max(1);
                    q.offset = (page - 1).saturating_mul(limit);
                }
                _ => {}
            }
        }
        q
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Decodes `%XX` and `+` (as a space); malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: String::new(),
            sort: SortColumn::Title,
            descending: false,
            offset: 0,
            limit: 50,
            tag: None,
            repertoire: None,
            key: None,
            tune_type: None,
        }
    }
}

/// One page of the list and the counts shown above it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunePage {
    pub rows: Vec<TuneSummary>,
    /// Live tunes matching the filter.
    pub matched: u64,
    /// All live tunes.
    pub total: u64,
    /// The offset this page starts at (clamped to the last page if the request was past it).
    pub offset: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_addresses_round_trip() {
        let cases = [
            (ListQuery::default(), ""),
            (ListQuery { filter: "Silver Spear".into(), ..ListQuery::default() }, "q=Silver%20Spear"),
            (
                ListQuery {
                    filter: "ré & co?".into(),
                    sort: SortColumn::LastModified,
                    descending: true,
                    offset: 100,
                    limit: 50,
                    tag: None,
                    repertoire: None,
                    key: None,
                    tune_type: None,
                },
                "q=r%C3%A9%20%26%20co%3F&sort=modified&order=desc&page=3",
            ),
            (
                ListQuery {
                    key: Some("E dorian".into()),
                    tune_type: Some("slip jig".into()),
                    ..ListQuery::default()
                },
                "key=E%20dorian&type=slip%20jig",
            ),
            (
                ListQuery {
                    tag: Some("session tunes".into()),
                    repertoire: Some("01901234-5678-7fff-bfff-ffffffffff10".parse().unwrap()),
                    ..ListQuery::default()
                },
                "tag=session%20tunes&repertoire=01901234-5678-7fff-bfff-ffffffffff10",
            ),
            (ListQuery { sort: SortColumn::Type, ..ListQuery::default() }, "sort=type"),
        ];
        for (query, text) in cases {
            assert_eq!(query.to_query_string(), text);
            assert_eq!(ListQuery::from_query_string(text, 50), query, "{text}");
            assert_eq!(ListQuery::from_query_string(&format!("?{text}"), 50), query, "{text}");
        }
    }

    #[test]
    fn odd_addresses_fall_back_to_defaults() {
        let q = ListQuery::from_query_string("sort=nonsense&page=-4&order=up&x=1&q=%zz+a", 50);
        assert_eq!(q, ListQuery { filter: "%zz a".into(), ..ListQuery::default() });
        assert_eq!(ListQuery::from_query_string("page=0", 50).offset, 0);
        assert_eq!(ListQuery::from_query_string("tag=&repertoire=nope", 50), ListQuery::default());
        assert_eq!(ListQuery::from_query_string("page=4294967295", 50).offset, u32::MAX);
    }
}
