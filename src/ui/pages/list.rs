//! The tune list at `/`: a sortable, filterable table, one page of rows at a time, so
//! the DOM stays small however many tunes there are.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Load;
use crate::ui::context::use_app;
use crate::ui::db_client::DbClient;
use crate::ui::format::local_date_time;
use tunebook_core::list::{ListQuery, SortColumn, TunePage};
use tunebook_core::text::{page_range, tune_count};

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// The User Timing mark set when the first rows have been painted.
pub const FIRST_ROWS_MARK: &str = "tunebook:first-rows";

/// Marks `name` in the page's performance timeline after the next paint, once per page load.
fn mark_once(name: &'static str) {
    thread_local!(static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    let mark = wasm_bindgen::closure::Closure::once_into_js(move || {
        if let Some(performance) = window().performance() {
            let _ = performance.mark(name);
        }
    });
    let _ = window().request_animation_frame(wasm_bindgen::JsCast::unchecked_ref(&mark));
}

/// The list's filter, sort and page; kept at the root so they survive visiting a tune.
#[derive(Clone, Copy)]
pub struct ListState {
    filter: RwSignal<String>,
    sort: RwSignal<SortColumn>,
    descending: RwSignal<bool>,
    offset: RwSignal<u32>,
}

impl Default for ListState {
    fn default() -> Self {
        Self {
            filter: RwSignal::new(String::new()),
            sort: RwSignal::new(SortColumn::Title),
            descending: RwSignal::new(false),
            offset: RwSignal::new(0),
        }
    }
}

impl ListState {
    fn query(&self) -> ListQuery {
        ListQuery {
            filter: self.filter.get(),
            sort: self.sort.get(),
            descending: self.descending.get(),
            offset: self.offset.get(),
            limit: PAGE_SIZE,
        }
    }

    /// A header click: sort by that column, or reverse if it already is.
    fn toggle_sort(&self, column: SortColumn) {
        if self.sort.get_untracked() == column {
            self.descending.update(|d| *d = !*d);
        } else {
            self.sort.set(column);
            self.descending.set(false);
        }
        self.offset.set(0);
    }
}

#[component]
pub fn TuneList(db: DbClient) -> impl IntoView {
    let state = use_context::<ListState>().unwrap_or_default();
    let app = use_app();
    let page: RwSignal<Load<TunePage>> = RwSignal::new(Load::Loading);
    // Only the newest query's answer is shown: typing fast must not flash stale rows.
    let latest = StoredValue::new(0u64);

    Effect::new(move || {
        let query = state.query();
        // Reload when the database under the list changed (sign-in, sign-out).
        app.data_version.track();
        let db = db.clone();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            let result = db.list_tunes(query).await;
            if latest.get_value() == ticket {
                page.set(match result {
                    Ok(p) => Load::Ready(p),
                    Err(e) => Load::Failed(e.to_string()),
                });
            }
        });
    });

    // The first time rows are on screen, leave a User Timing mark (visible in the
    // browser's performance tools; the benchmark reads it).
    Effect::new(move || {
        if matches!(page.get(), Load::Ready(ref p) if !p.rows.is_empty()) {
            mark_once(FIRST_ROWS_MARK);
        }
    });

    let header = move |column: SortColumn| {
        let aria_sort = move || match (state.sort.get() == column, state.descending.get()) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        let arrow = move || match aria_sort() {
            "ascending" => " ▲",
            "descending" => " ▼",
            _ => "",
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button type="button" class="sort" on:click=move |_| state.toggle_sort(column)>
                    {column.label()}
                    <span aria-hidden="true">{arrow}</span>
                </button>
            </th>
        }
    };

    let body = move || match page.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading tunes…"</p> }.into_any(),
        Load::Failed(message) => view! {
            <p class="error" role="alert">"Could not load your tunes: " {message}</p>
        }
        .into_any(),
        Load::Ready(p) if p.total == 0 => view! {
            <p class="empty">"Your tunebook is empty. Add your first tune with “New tune”."</p>
        }
        .into_any(),
        Load::Ready(p) if p.matched == 0 => view! {
            <p class="empty">"No tunes match “" {state.filter.get_untracked()} "”."</p>
        }
        .into_any(),
        Load::Ready(p) => {
            let has_prev = p.offset > 0;
            let has_next = u64::from(p.offset) + (p.rows.len() as u64) < p.matched;
            let range = page_range(p.offset, p.rows.len());
            let offset = p.offset;
            view! {
                <table class="tune-table">
                    <thead>
                        <tr>{SortColumn::ALL.map(header)}</tr>
                    </thead>
                    <tbody>
                        {p
                            .rows
                            .into_iter()
                            .map(|row| {
                                view! {
                                    <tr>
                                        <td>
                                            <a href=format!("/tunes/{}", row.id)>{row.title}</a>
                                        </td>
                                        <td>{row.tune_type}</td>
                                        <td>{row.mode}</td>
                                        <td>{row.genre}</td>
                                        <td>
                                            <time datetime=row.last_modified_at.to_string()>
                                                {local_date_time(row.last_modified_at)}
                                            </time>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                <nav class="pager" aria-label="Pages">
                    <button
                        type="button"
                        disabled=!has_prev
                        on:click=move |_| state.offset.set(offset.saturating_sub(PAGE_SIZE))
                    >
                        "Previous page"
                    </button>
                    <span class="range">{range}</span>
                    <button
                        type="button"
                        disabled=!has_next
                        on:click=move |_| state.offset.set(offset + PAGE_SIZE)
                    >
                        "Next page"
                    </button>
                </nav>
            }
            .into_any()
        }
    };

    let count = move || match page.get() {
        Load::Ready(p) => tune_count(p.matched, p.total),
        _ => String::new(),
    };

    view! {
        <section class="tune-list">
            <div class="list-toolbar">
                <h1>"Tunes"</h1>
                <a class="button primary" href="/tunes/new">"New tune"</a>
            </div>
            <div class="filter-row">
                <label for="filter">"Filter"</label>
                <input
                    id="filter"
                    type="search"
                    placeholder="Title, composer or notes"
                    autocomplete="off"
                    prop:value=move || state.filter.get()
                    on:input=move |ev| {
                        state.filter.set(event_target_value(&ev));
                        state.offset.set(0);
                    }
                />
                <p class="count" role="status" aria-live="polite">{count}</p>
            </div>
            {body}
        </section>
    }
}
