//! Progress (`/progress`): pictures of a repertoire's practice, drawn as plain SVG by the
//! app — tunes practised per day for the last 90 days, tunes due per day for the next
//! 30, and how many tunes are new, learning or known. Each chart has a title and a
//! summary sentence for screen readers; each bar says its day and count on hover.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Uuid;
use tunebook_core::practice::DAY_MS;
use tunebook_core::practice::progress::{KNOWN_INTERVAL_DAYS, Progress};
use tunebook_core::tables::TableId;
use tunebook_core::text::tunes;

use super::practice::RepertoirePicker;
use super::{Load, LoadFailed};
use crate::ui::context::use_app;
use crate::ui::format::{local_date, set_page_title};

const CHART_HEIGHT: f64 = 120.0;
const BAR_WIDTH: f64 = 10.0;

/// A bar chart of one count per day; `first_day` is the first bar's day (ms, any time
/// in it).
#[component]
fn DayChart(
    id: &'static str,
    title: &'static str,
    counts: Vec<u32>,
    first_day: i64,
    summary: String,
) -> impl IntoView {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let width = BAR_WIDTH * counts.len() as f64;
    let bars = counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let h = CHART_HEIGHT * f64::from(n) / f64::from(max);
            let label = format!("{}: {}", local_date(first_day + i as i64 * DAY_MS), tunes(n));
            view! {
                <rect x=BAR_WIDTH * i as f64 + 1.0 y=CHART_HEIGHT - h width=BAR_WIDTH - 2.0 height=h class="bar">
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    view! {
        <figure class="chart">
            <figcaption id=title_id>{title}</figcaption>
            <svg role="img" aria-labelledby=labelled_by viewBox=format!("0 0 {width} {CHART_HEIGHT}")
                preserveAspectRatio="none" class="day-chart">
                <desc id=desc_id>{summary.clone()}</desc>
                <line x1="0" y1=CHART_HEIGHT x2=width y2=CHART_HEIGHT class="axis" />
                {bars}
            </svg>
            <p class="hint">{summary}</p>
        </figure>
    }
}

/// New, learning and known as one stacked bar with its legend.
#[component]
fn StageChart(progress: Progress) -> impl IntoView {
    let total = (progress.new + progress.learning + progress.known).max(1);
    let parts = [
        ("new", "New", progress.new),
        ("learning", "Learning", progress.learning),
        ("known", "Known", progress.known),
    ];
    let summary =
        parts.iter().map(|(_, label, n)| format!("{label}: {}", tunes(*n))).collect::<Vec<_>>().join(", ");
    let mut x = 0.0;
    let segments = parts
        .iter()
        .map(|(class, label, n)| {
            let w = 300.0 * f64::from(*n) / f64::from(total);
            let at = x;
            x += w;
            view! { <rect x=at y="0" width=w height="24" class=format!("stage {class}")><title>{format!("{label}: {}", tunes(*n))}</title></rect> }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption id="stages-title">"Where your tunes stand"</figcaption>
            <svg role="img" aria-labelledby="stages-title stages-desc" viewBox="0 0 300 24" preserveAspectRatio="none" class="stage-chart">
                <desc id="stages-desc">{summary.clone()}</desc>
                {segments}
            </svg>
            <ul class="legend">
                {parts.into_iter().map(|(class, label, n)| view! {
                    <li><span class=format!("swatch {class}") aria-hidden="true"></span>{format!("{label}: {}", tunes(n))}</li>
                }).collect_view()}
            </ul>
            <p class="hint">{format!("Known: comes back {KNOWN_INTERVAL_DAYS} days or more after practice.")}</p>
        </figure>
    }
}

#[component]
pub fn ProgressPage() -> impl IntoView {
    set_page_title("Progress");
    let app = use_app();
    let selected = RwSignal::new(None::<Uuid>);
    let progress: RwSignal<Load<Progress>> = RwSignal::new(Load::Loading);
    Effect::new(move || {
        app.changes.track(&[TableId::Repertoire, TableId::RepertoireTune, TableId::PracticeRecord]);
        let (Some(db), Some(repertoire)) = (app.db(), selected.get()) else { return };
        spawn_local(async move {
            progress.set(match db.practice_progress(repertoire).await {
                Ok(p) => Load::Ready(p),
                Err(e) => Load::Failed(e.to_string()),
            });
        });
    });
    let charts = move || match progress.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading progress…"</p> }.into_any(),
        Load::Failed(message) => view! { <LoadFailed message /> }.into_any(),
        Load::Ready(p) => {
            let now = js_sys::Date::now() as i64;
            let back = p.practised_per_day.len() as i64;
            let practised: u32 = p.practised_per_day.iter().sum();
            let active = p.practised_per_day.iter().filter(|n| **n > 0).count();
            let due: u32 = p.due_per_day.iter().sum();
            let due_today = p.due_per_day.first().copied().unwrap_or(0);
            view! {
                <DayChart id="practised" title="Tunes practised per day, last 90 days"
                    counts=p.practised_per_day.clone() first_day=now - (back - 1) * DAY_MS
                    summary=format!("{practised} ratings on {active} of the last {back} days.") />
                <DayChart id="due" title="Tunes due per day, next 30 days"
                    counts=p.due_per_day.clone() first_day=now
                    summary=format!("{} due in the next 30 days, {} of them today (overdue ones included).", tunes(due), due_today) />
                <StageChart progress=p />
            }
            .into_any()
        }
    };
    view! {
        <section class="progress">
            <h1>"Progress"</h1>
            <RepertoirePicker selected />
            {move || selected.get().map(|_| charts())}
        </section>
    }
}
