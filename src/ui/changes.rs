//! Which tables changed under the pages: one counter per synced table, bumped when rows of
//! it change in a way the page did not cause itself (another tab wrote, a pull applied
//! rows, a database was switched). A page tracks the tables it shows and reloads when one
//! of their counters moves, so a practice rating in another tab refreshes the practice
//! queue and not the tune list's facets.

use leptos::prelude::*;
use tunebook_core::tables::TableId;

/// One counter per table, in [`TableId::ALL`] order.
#[derive(Clone, Copy)]
pub struct TableChanges([RwSignal<u64>; TableId::ALL.len()]);

impl TableChanges {
    pub fn new() -> Self {
        Self(std::array::from_fn(|_| RwSignal::new(0)))
    }

    fn counter(&self, table: TableId) -> Option<RwSignal<u64>> {
        TableId::ALL.iter().position(|t| *t == table).map(|i| self.0[i])
    }

    /// Subscribes the running effect to changes of these tables.
    pub fn track(&self, tables: &[TableId]) {
        for table in tables {
            if let Some(counter) = self.counter(*table) {
                counter.track();
            }
        }
    }

    /// Tells the pages showing these tables to reload.
    pub fn bump(&self, tables: &[TableId]) {
        for table in tables {
            if let Some(counter) = self.counter(*table) {
                counter.update(|n| *n += 1);
            }
        }
    }
}

impl Default for TableChanges {
    fn default() -> Self {
        Self::new()
    }
}
