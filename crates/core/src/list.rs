//! What the tune list asks the database for and what it gets back.

use serde::{Deserialize, Serialize};

use crate::domain::TuneSummary;

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
}

impl ListQuery {
    /// The largest page the data layer returns, so no request can pull every row at once.
    pub const MAX_LIMIT: u32 = 500;
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { filter: String::new(), sort: SortColumn::Title, descending: false, offset: 0, limit: 50 }
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
