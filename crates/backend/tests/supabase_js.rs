//! The official client, `@supabase/supabase-js` (installed by `scripts/setup.sh`), run by
//! Node against a throwaway local stack: see `tests/js/realtime_hints.mjs`.

use std::path::PathBuf;
use std::process::Command;

use tunebook_backend::testing::TestStack;

#[test]
fn supabase_js_hears_its_own_change_hints_and_no_one_elses() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        root.join("node_modules/@supabase/supabase-js").is_dir(),
        "supabase-js is missing: run scripts/setup.sh"
    );
    let stack = TestStack::start(|_| {}).expect("stack starts");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/realtime_hints.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(&stack.stack().api_url)
        .arg(&stack.stack().anon_key)
        // Resolves the packages from the repository's node_modules.
        .current_dir(&root)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "supabase-js check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(r#""failures":[]"#), "{stdout}");
}
